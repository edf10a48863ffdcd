"""Peak memory per extra RNN step of a training step: eegseq's layer against the stock tf-keras layer.

A 2-layer recurrent model (default: LSTM, batch 16, 32 features, 64 units) takes one training step
(forward, backward, Adam update) on a window of ``T`` steps. Every (variant, T) runs in a fresh
Python process, which reports its peak resident memory (``ru_maxrss``); runs of one T are taken
in turn for every variant, smallest T first. The per-step figure is the slope between consecutive
window lengths, ``(peak(T2) - peak(T1)) / (T2 - T1)``, so that TensorFlow's own footprint cancels;
its ratio to the stock layer without dropout (``stock``) is the figure of merit (target <= 1).

Variants: ``stock`` (``tf_keras.layers.LSTM``/``GRU``), ``stock_rd`` (with ``recurrent_dropout=0.25``),
eegseq presets with rate 0.25 under ``memory="save"`` (the default) and ``memory="recompute"``
(``+recompute``), and for the LSTM ``none+fused`` (TensorFlow's fused block kernel).

    python benchmarks/rnn_memory.py [--steps 1500 6000 24000] [--cell lstm] [--variants stock none ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

DEFAULT_VARIANTS = [
    "stock",
    "stock_rd",
    "none",
    "none+recompute",
    "none+fused",
    "semeniuta",
    "semeniuta+recompute",
    "gal",
    "gal+recompute",
]


def measure(cell_name: str, variant: str, steps: int, batch: int, features: int, units: int) -> dict:
    """In this (fresh) process: one training step of ``rnn_speed``'s model (the same model and step the
    speed benchmark times), then the process' peak resident memory in MB."""
    import resource
    import time

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    from rnn_speed import build_model, make_step  # this script's folder is first on sys.path

    model = build_model(cell_name, variant, steps, features, units)
    rng = np.random.default_rng(0)
    data = tf.constant(rng.standard_normal((batch, steps, features), dtype=np.float32))
    target = tf.constant(rng.standard_normal((batch, 1), dtype=np.float32))
    step = make_step(model, data, target)
    step()  # trace, compile, build the optimizer's slots
    start = time.perf_counter()
    step()
    seconds = time.perf_counter() - start
    return {"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "step_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1500, 6000, 24000])
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, steps = args.child
        print(json.dumps(measure(args.cell, variant, int(steps), args.batch, args.features, args.units)))
        return

    variants = [v for v in args.variants if not (v.endswith("+fused") and args.cell != "lstm")]
    steps = sorted(args.steps)
    print(
        f"{args.cell.upper()}: batch {args.batch}, {args.features} features, {args.units} units, 2 layers, "
        f"rate 0.25; one training step per fresh process; peak RSS in MB",
        flush=True,
    )
    peaks: dict[str, dict[int, float]] = {v: {} for v in variants}
    times: dict[str, dict[int, float]] = {v: {} for v in variants}
    for t in steps:
        for variant in variants:
            common = ["--cell", args.cell, "--batch", str(args.batch), "--features", str(args.features)]
            command = [sys.executable, __file__, *common, "--units", str(args.units), "--child", variant, str(t)]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode:
                print(f"{variant} T={t} failed:\n{result.stderr[-2000:]}", file=sys.stderr, flush=True)
                continue
            report = json.loads(result.stdout.strip().splitlines()[-1])
            peaks[variant][t], times[variant][t] = report["peak_mb"], report["step_s"]
            print(f"  {variant} T={t}: {report['peak_mb']:.0f} MB, step {report['step_s']:.2f} s", flush=True)

    spans = list(zip(steps, steps[1:]))

    def slope(variant, t1, t2):
        p = peaks[variant]
        return (p[t2] - p[t1]) / (t2 - t1) if t1 in p and t2 in p else float("nan")

    head = " | ".join(f"MB/step {a}->{b} | ratio to stock" for a, b in spans)
    peak_head = " | ".join(f"peak MB T={t}" for t in steps)
    print(f"\n| variant | {peak_head} | {head} | step s T={steps[-1]} |")
    print("|---|" + "---:|" * (len(steps) + 2 * len(spans) + 1))
    for variant in variants:
        cells = [f"{peaks[variant].get(t, float('nan')):.0f}" for t in steps]
        for a, b in spans:
            mine, stock = slope(variant, a, b), slope("stock", a, b)
            cells += [f"{mine:.3f}", f"{mine / stock:.2f}" if stock == stock else "nan"]
        cells.append(f"{times[variant].get(steps[-1], float('nan')):.2f}")
        print(f"| {variant} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
