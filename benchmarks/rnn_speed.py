"""Training-step time of eegseq's dropout presets against the stock tf-keras layers, side by side.

One training step (forward, backward, Adam update) of a 2-layer recurrent model
(default: batch 16, 1,500 steps, 32 features, 64 units), for LSTM and GRU, for:

* ``stock_rd``: ``tf_keras.layers.LSTM/GRU(recurrent_dropout=0.25)`` (the baseline of the ratios),
* ``stock``: the stock layer without dropout,
* every eegseq preset with rate 0.25 (``StreamRNN``, training mode, default engine),
* for the LSTM, ``none`` and ``weight_drop`` forced onto TensorFlow's fused block LSTM kernel
  (``+fused``), which the default engine on the CPU is compared against.

Variants are timed round-robin (one step of each, repeated) so that machine noise hits all of
them alike; the table shows medians and the ratio to ``stock_rd``. Targets (issue 2): every
preset <= 0.5x, ``none`` and ``weight_drop`` <= 0.3x.

    python benchmarks/rnn_speed.py [--repeats 7] [--steps 1500] [--cells lstm gru] [--presets gal none ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import tf_keras as keras

from eegseq.rnn import PRESETS, DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN

tf.get_logger().setLevel("ERROR")  # one tf.function per model is intended, not a retracing bug

RATE = 0.25
CELLS = {"lstm": (DropoutLSTMCell, keras.layers.LSTM), "gru": (DropoutGRUCell, keras.layers.GRU)}


def build_model(cell_name: str, variant: str, steps: int, features: int, units: int) -> keras.Model:
    eeg_cell, stock_layer = CELLS[cell_name]
    inputs = keras.Input((steps, features))
    x = inputs
    for layer_index, last in enumerate((False, True)):
        if variant.startswith("stock"):
            dropout = RATE if variant == "stock_rd" else 0.0
            x = stock_layer(units, return_sequences=not last, recurrent_dropout=dropout)(x)
        else:
            preset, fused = variant.removesuffix("+fused"), True if variant.endswith("+fused") else None
            cell = eeg_cell(units, DropoutSpec.create(preset, rate=RATE))
            x = StreamRNN(cell, return_sequences=not last, seed=layer_index, use_fused=fused)(x, training=True)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def make_step(model: keras.Model, x: tf.Tensor, y: tf.Tensor):
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return lambda: step().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((args.batch, args.steps, args.features), dtype=np.float32))
    y = tf.constant(rng.standard_normal((args.batch, 1), dtype=np.float32))
    print(
        f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}; batch {args.batch}, "
        f"{args.steps} steps, {args.features} features, {args.units} units, 2 layers, rate {RATE}; "
        f"median of {args.repeats} training steps"
    )
    for cell_name in args.cells:
        fused = [f"{p}+fused" for p in ("none", "weight_drop") if p in args.presets and cell_name == "lstm"]
        variants = ["stock_rd", "stock", *args.presets, *fused]
        steps = {v: make_step(build_model(cell_name, v, args.steps, args.features, args.units), x, y) for v in variants}
        for step in steps.values():  # trace and warm up
            step()
            step()
        times: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(args.repeats):
            for variant, step in steps.items():
                start = time.perf_counter()
                step()
                times[variant].append(time.perf_counter() - start)
        baseline = statistics.median(times["stock_rd"])
        print(
            f"\n{cell_name.upper()}\n| variant | median step (ms) | ratio to stock recurrent_dropout |\n|---|---:|---:|"
        )
        for variant in variants:
            median = statistics.median(times[variant])
            print(f"| {variant} | {median * 1e3:.1f} | {median / baseline:.2f} |")


if __name__ == "__main__":
    main()
