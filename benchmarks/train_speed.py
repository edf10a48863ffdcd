"""Training throughput of the default job and the fraction of step time spent waiting for input.

Streams the training split of a config (default ``configs/default.yaml``; its data is ingested
first if needed) and times, for each step, the wait for the next batch from the prefetched
tf.data stream and the training step itself. Prints medians, steps/s, recording-seconds/s and
the input-wait fraction (target: under 5 % of step time).

    python benchmarks/train_speed.py [--config configs/default.yaml] [--steps 200] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipelines.config import load_config  # noqa: E402
from pipelines.ingest import run_ingest  # noqa: E402
from pipelines.train import Trainer, make_strategy  # noqa: E402

WARMUP = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    config = load_config(args.config, args.overrides + ["train.progress=false"])
    data = run_ingest(config.data, progress=False)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, Path(run_dir), make_strategy(config), data)
        state = trainer.distributed_state(None)
        batches = iter(trainer.dataset(None))
        waits, steps, seconds = [], [], 0.0
        for index in range(WARMUP + args.steps):
            started = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                break
            fetched = time.perf_counter()
            loss, played, state = trainer.step(batch, state)
            loss.numpy()  # wait for the step to finish
            done = time.perf_counter()
            if index >= WARMUP:
                waits.append(fetched - started)
                steps.append(done - fetched)
                seconds += float(played.numpy())
    total = sum(waits) + sum(steps)
    print(f"config {args.config}: {config.stream.lanes} lanes x {config.stream.window_seconds:g} s windows, "
          f"{len(steps)} steps after {WARMUP} warm-up")
    print(f"median step {statistics.median(steps) * 1e3:.1f} ms, median input wait {statistics.median(waits) * 1e3:.2f} ms")
    print(f"throughput {len(steps) / total:.1f} steps/s, {seconds / total:.0f} recording-seconds/s")
    print(f"input wait {100 * sum(waits) / total:.1f}% of step time (target < 5%)")


if __name__ == "__main__":
    main()
