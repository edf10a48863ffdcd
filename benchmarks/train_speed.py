"""Training throughput of the default job and the share of its time spent waiting for input.

Streams the training split of a config (default ``configs/default.yaml``; its data is ingested
first if needed) and, side by side in one process, runs the same training steps twice:

* **streamed**: each batch comes from the prefetched ``tf.data`` lane stream, as in ``eegseq train``;
* **in memory**: the same batches, fetched beforehand, come from a list (input costs nothing).

The input share is ``1 - in-memory time / streamed time``: what training loses to its input
pipeline, including the producer's contention for the GIL and the CPU (target: under 5 %). The
time spent blocked in ``next()`` on the stream is printed too. Rounds alternate; medians.

    python benchmarks/train_speed.py [--config configs/default.yaml] [--steps 150] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import itertools
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


def timed_steps(trainer: Trainer, batches, state) -> tuple[list[float], list[float], float]:
    """Run a step per batch of the iterable ``batches``: (seconds waiting for each batch,
    seconds of each step, recording-seconds played)."""
    waits, steps, seconds = [], [], 0.0
    iterator = iter(batches)
    while True:
        started = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            return waits, steps, seconds
        fetched = time.perf_counter()
        loss, played, state = trainer.step(batch, state)
        loss.numpy()  # wait for the step to finish
        waits.append(fetched - started)
        steps.append(time.perf_counter() - fetched)
        seconds += float(played.numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    config = load_config(args.config, args.overrides + ["train.progress=false"])
    data = run_ingest(config.data, progress=False)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, Path(run_dir), make_strategy(config), data)
        state = trainer.distributed_state(None)
        timed_steps(trainer, itertools.islice(trainer.dataset(None), WARMUP), state)  # tracing, first reads
        streamed, in_memory, waits, seconds = [], [], [], 0.0
        for _ in range(args.rounds):
            # the same steps both ways: from the stream, then from a list of the batches fetched before
            wait, steps, seconds = timed_steps(trainer, itertools.islice(trainer.dataset(None), args.steps), state)
            streamed.append(sum(wait) + sum(steps))
            waits.append(sum(wait))
            batches = list(itertools.islice(trainer.dataset(None), args.steps))
            wait, steps, _ = timed_steps(trainer, batches, state)
            in_memory.append(sum(wait) + sum(steps))
    s, m, w = statistics.median(streamed), statistics.median(in_memory), statistics.median(waits)
    n = args.steps
    print(f"config {args.config}: {config.stream.lanes} lanes x {config.stream.window_seconds:g} s windows, "
          f"{args.rounds} rounds of {n} steps after {WARMUP} warm-up")
    print(f"streamed : {s / n * 1e3:.2f} ms/step, {n / s:.1f} steps/s, {seconds / s:.0f} recording-seconds/s "
          f"(median; rounds {', '.join(f'{v / n * 1e3:.2f}' for v in streamed)} ms/step)")
    print(f"in memory: {m / n * 1e3:.2f} ms/step (median; rounds {', '.join(f'{v / n * 1e3:.2f}' for v in in_memory)})")
    print(f"blocked in next() on the stream: {100 * w / s:.1f}% of streamed time")
    print(f"input share 1 - in-memory/streamed: {100 * (1 - m / s):.1f}% (target < 5%)")


if __name__ == "__main__":
    main()
