"""Where a training step's time goes, per preset, from TensorFlow's profiler.

Runs a few training steps of the ``rnn_speed.py`` model (2-layer LSTM by default) for each preset
under ``tf.profiler`` and prints, per preset, the host time of the largest op groups as a share of
the profiled steps' wall time: the compiled forward and reverse loops, the mask draws (integer
hashing), the weight-gradient products, the input projection, Adam.

    python benchmarks/rnn_profile.py [--presets none semeniuta gal] [--steps 1500] [--profiled 3]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent))
from rnn_speed import build_model, make_step  # the same model and step as the speed table


def profile(step, repeats: int) -> tuple[float, collections.Counter]:
    """Wall seconds of ``repeats`` steps under the profiler, and host seconds per op name."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # the profiler's trace format, shipped with TF

    with tempfile.TemporaryDirectory() as log_dir:
        tf.profiler.experimental.start(log_dir)
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        seconds: collections.Counter = collections.Counter()
        for trace in Path(log_dir).rglob("*.xplane.pb"):
            for plane in xplane_pb2.XSpace.FromString(trace.read_bytes()).planes:
                if not plane.name.startswith("/host:CPU"):
                    continue
                names = {key: meta.name for key, meta in plane.event_metadata.items()}
                for line in plane.lines:
                    if line.name != "TensorFlow Ops":
                        continue
                    for event in line.events:
                        seconds[names[event.metadata_id]] += event.duration_ps * 1e-12
    return wall, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["none", "semeniuta", "gal"])
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--profiled", type=int, default=3)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((16, args.steps, 32), dtype=np.float32))
    y = tf.constant(rng.standard_normal((16, 1), dtype=np.float32))
    for preset in args.presets:
        step = make_step(build_model(args.cell, preset, args.steps, 32, 64), x, y)
        step()
        step()
        wall, seconds = profile(step, args.profiled)
        print(f"\n{preset}: {wall / args.profiled * 1e3:.0f} ms per step under the profiler")
        print("| op | ms per step | share of the step |\n|---|---:|---:|")
        for name, total in seconds.most_common(args.top):
            print(f"| {name[:70]} | {total / args.profiled * 1e3:.1f} | {total / wall:.0%} |")


if __name__ == "__main__":
    main()
