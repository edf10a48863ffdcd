"""Training throughput of the default job and the share of its time lost to its input.

Streams the training split of a config (default ``configs/default.yaml``; its data is ingested
first if needed) and, side by side in one process, runs the same training steps twice through
the trainer's compiled step (which takes each batch from its iterator inside the graph):

* **streamed**: the batches come from the prefetched ``tf.data`` lane stream, as in ``eegseq train``;
* **in memory**: the same batches, from a ``tf.data`` cache filled beforehand (input costs nothing).

Each round starts a fresh stream and times its steps after ``WARMUP`` untimed ones (opening the
first files and filling the first group happen once per run, not per step). Two measures of
the input's cost:

* **waiting for input**: the step clocks its wait for the batch inside the graph (``tf.timestamp``
  around the iterator's ``next``; TensorFlow's op determinism, ``train.deterministic``, the
  default, refuses to read the clock: run with ``--set train.deterministic=false`` for it). The clock also catches ~0.4 ms of the executor's other
  ready work (variable reads) at the start of every step, whatever the source, so the waiting
  due to the stream is the streamed wait minus the in-memory wait, as a share of the streamed
  step time (the target: under 5 %);
* **input share** ``1 - in-memory time / streamed time``: everything training loses to its input
  pipeline, the waiting and also the producer's contention with the training step for the CPU
  cores, the GIL and the memory bandwidth (on a 2-core machine, where the step itself keeps both
  cores busy, any producer work shows here).

Rounds alternate; medians.

    python benchmarks/train_speed.py [--config configs/default.yaml] [--steps 150] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from eegseq.data.tfdata import dataset_fn  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.ingest import run_ingest  # noqa: E402
from pipelines.train import Trainer, make_strategy  # noqa: E402

WARMUP = 10


def timed_steps(trainer: Trainer, batches, state, steps: int) -> tuple[float, float, float, object]:
    """Run ``steps`` training steps on the distributed iterator ``batches``: (seconds, seconds
    waiting for input, recording-seconds played, new state)."""
    started, played, waited = time.perf_counter(), 0.0, 0.0
    for _ in range(steps):
        _, seconds, state, _, _, wait = trainer.step(batches, state)
        played += float(seconds.numpy())  # also waits for the step to finish
        waited += float("nan") if wait is None else float(wait.numpy())
    return time.perf_counter() - started, waited, played, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    config = load_config(args.config, args.overrides + ["train.progress=false"])
    if config.train.deterministic:  # as the job does
        tf.config.experimental.enable_op_determinism()
    data = run_ingest(config.data, progress=False)
    n = args.steps
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, Path(run_dir), make_strategy(config), data)
        stream = dataset_fn(trainer.train_stores, trainer.stream, data.stats, epochs=config.train.epochs)
        # the timed steps of every streamed round
        cached = trainer.strategy.distribute_datasets_from_function(
            lambda context: stream(context).skip(WARMUP).take(n).cache())
        for _ in cached:  # fill the cache
            pass
        state = trainer.distributed_state(None)
        rounds = {"streamed": [], "in memory": []}
        waits = {"streamed": [], "in memory": []}
        seconds = 0.0
        for _ in range(args.rounds):
            batches = iter(trainer.dataset(None))
            *_, state = timed_steps(trainer, batches, state, WARMUP)  # tracing on the first round
            for name, source in (("streamed", batches), ("in memory", iter(cached))):
                elapsed, waited, played, state = timed_steps(trainer, source, state, n)
                rounds[name].append(elapsed)
                waits[name].append(waited)
                seconds = played  # the same steps both ways
    s, m = statistics.median(rounds["streamed"]), statistics.median(rounds["in memory"])
    stream_wait = [(w - v) / t for w, v, t in zip(waits["streamed"], waits["in memory"], rounds["streamed"])]
    print(f"config {args.config}: {config.stream.lanes} lanes x {config.stream.window_seconds:g} s windows, "
          f"{args.rounds} rounds of {n} steps, each after {WARMUP} untimed steps")
    for name, values in rounds.items():
        clocked = "" if config.train.deterministic else f"; clocked wait {statistics.median(waits[name]) / n * 1e3:.2f} ms/step"
        print(f"{name:9}: {statistics.median(values) / n * 1e3:.2f} ms/step (median; rounds "
              f"{', '.join(f'{v / n * 1e3:.2f}' for v in values)}){clocked}")
    print(f"streamed : {n / s:.1f} steps/s, {seconds / s:.0f} recording-seconds/s")
    if config.train.deterministic:
        print("waiting for input: not clocked under train.deterministic (see the docstring)")
    else:
        print(f"waiting for input due to the stream: {100 * statistics.median(stream_wait):.1f}% of streamed step "
              f"time (target < 5%; median; rounds {', '.join(f'{100 * v:.1f}' for v in stream_wait)})")
    print(f"input share 1 - in-memory/streamed: {100 * (1 - m / s):.1f}%")


if __name__ == "__main__":
    main()
