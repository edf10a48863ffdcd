"""Training throughput of the default job and the share of its time lost to its input.

Streams the training split of a config (default ``configs/default.yaml``; its data is ingested
first if needed) and, side by side in one process, runs the same training steps twice through
the trainer's compiled step (which takes each batch from its iterator inside the graph):

* **streamed**: the batches come from the prefetched ``tf.data`` lane stream, as in ``eegseq train``;
* **in memory**: the same batches, from a ``tf.data`` cache filled beforehand (input costs nothing).

Each round starts a fresh stream and times its steps after ``WARMUP`` untimed ones (opening the
first files and filling the first group happen once per run, not per step). Two measures of
the input's cost:

* **waiting for input** (the target: under 5 % of step time): one more streamed round, and one
  in memory, run under TensorFlow's profiler; the time the steps spent in the iterator's
  ``GetNext`` op (their wait for the batch) as a share of those rounds' time. The profiler reads
  the trace from outside the graph, so it works under op determinism (``train.deterministic``,
  the default), which refuses the in-graph clock that the training loop's ``input_wait`` uses.
  The in-memory round shows what the op costs with the batch ready;
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

import tensorflow as tf

from eegseq.data.tfdata import dataset_fn
from eegseq.pipelines.config import load_config
from eegseq.pipelines.distribution import make_strategy
from eegseq.pipelines.ingest import run_ingest
from eegseq.pipelines.plan import RunPlan
from eegseq.pipelines.train import Trainer

WARMUP = 10


# The profiler's event for the iterator's GetNext op: a step's wait for its batch.
GET_NEXT_EVENT = "IteratorGetNextOp::DoCompute"


def timed_steps(trainer: Trainer, batches, state, steps: int) -> tuple[float, float, object]:
    """Run ``steps`` training steps on the distributed iterator ``batches``: (seconds,
    recording-seconds played, new state)."""
    started, played = time.perf_counter(), 0.0
    for _ in range(steps):
        _, seconds, state, *_ = trainer.step(batches, state)
        played += float(seconds.numpy())  # also waits for the step to finish
    return time.perf_counter() - started, played, state


def profiled_wait(trainer: Trainer, batches, state, steps: int, log_dir: Path) -> tuple[float, float, object]:
    """Run ``steps`` steps under TensorFlow's profiler: (seconds, seconds in ``GetNext``, new state)."""
    # The profiler's trace format; the module ships with TensorFlow.
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    tf.profiler.experimental.start(str(log_dir))
    try:
        elapsed, _, state = timed_steps(trainer, batches, state, steps)
    finally:
        tf.profiler.experimental.stop()
    picoseconds = 0
    for trace in log_dir.rglob("*.xplane.pb"):
        for plane in xplane_pb2.XSpace.FromString(trace.read_bytes()).planes:
            wanted = {key for key, meta in plane.event_metadata.items() if meta.name == GET_NEXT_EVENT}
            picoseconds += sum(e.duration_ps for line in plane.lines for e in line.events if e.metadata_id in wanted)
    if not picoseconds:
        raise RuntimeError(
            f"no {GET_NEXT_EVENT!r} event in the profile under {log_dir}: has the profiler's naming changed?"
        )
    return elapsed, picoseconds * 1e-12, state


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
    strategy = make_strategy(config)
    plan = RunPlan.build(config, data, replicas=strategy.num_replicas_in_sync)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(plan, Path(run_dir), strategy)
        stream = dataset_fn(plan.stores("train"), plan.stream, plan.stats, epochs=config.train.epochs)
        # the timed steps of every streamed round
        cached = trainer.strategy.distribute_datasets_from_function(
            lambda context: stream(context).skip(WARMUP).take(n).cache()
        )
        for _ in cached:  # fill the cache
            pass
        state = trainer.lanes.distribute(None)

        def fresh(name: str, state):
            """An iterator over the timed steps of ``name`` and the state after its untimed ones."""
            if name == "in memory":
                return iter(cached), state
            batches = iter(trainer.dataset(None))
            *_, state = timed_steps(trainer, batches, state, WARMUP)  # tracing on the first round
            return batches, state

        rounds = {"streamed": [], "in memory": []}
        seconds = 0.0
        for _ in range(args.rounds):
            for name in rounds:
                batches, state = fresh(name, state)
                elapsed, seconds, state = timed_steps(trainer, batches, state, n)  # the same steps both ways
                rounds[name].append(elapsed)
        waits = {}
        for name in rounds:
            batches, state = fresh(name, state)
            log_dir = Path(run_dir) / f"profile-{name.replace(' ', '-')}"
            elapsed, waited, state = profiled_wait(trainer, batches, state, n, log_dir)
            waits[name] = (elapsed, waited)
    s, m = statistics.median(rounds["streamed"]), statistics.median(rounds["in memory"])
    print(
        f"config {args.config}: {config.stream.lanes} lanes x {config.stream.window_seconds:g} s windows, "
        f"deterministic={config.train.deterministic}, {args.rounds} rounds of {n} steps, each after {WARMUP} "
        f"untimed steps"
    )
    for name, values in rounds.items():
        print(
            f"{name:9}: {statistics.median(values) / n * 1e3:.2f} ms/step (median; rounds "
            f"{', '.join(f'{v / n * 1e3:.2f}' for v in values)})"
        )
    print(f"streamed : {n / s:.1f} steps/s, {seconds / s:.0f} recording-seconds/s")
    for name, (elapsed, waited) in waits.items():
        print(
            f"waiting for input, {name} (profiled round, {elapsed / n * 1e3:.2f} ms/step): {waited / n * 1e3:.2f} "
            f"ms/step = {100 * waited / elapsed:.1f}% of step time" + (" (target < 5%)" if name == "streamed" else "")
        )
    print(f"input share 1 - in-memory/streamed: {100 * (1 - m / s):.1f}%")


if __name__ == "__main__":
    main()
