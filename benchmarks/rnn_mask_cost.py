"""Where a masked preset's training step spends its time beyond ``none``: drawing the masks, or using them.

For each preset, in one process, one training step (forward, backward, Adam) of two stacked
``StreamRNN`` layers and a dense head (LSTM by default: batch 16, 1,500 steps, 32 features, 64
units, rate 0.25, the layer's default engine), timed two ways, round-robin, medians:

* **drawn**: the layers draw their masks inside the step, as in training;
* **given**: the same masks, drawn once before timing (``eegseq.rnn.sample_masks``) and passed with
  ``masks=``: the step without the drawing.

Printed per preset, as ratios to ``none``'s step: ``drawn`` (the whole step), ``given`` (the step
with the masks' use only: the multiplies in the forward loop and what the reverse loop does more),
and ``drawn - given`` (drawing the masks).

    python benchmarks/rnn_mask_cost.py [--repeats 7] [--cell gru] [--presets gal semeniuta]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import tf_keras as keras
from rnn_speed import CELLS, RATE  # this script's folder is first on sys.path

from eegseq.rnn import PRESETS, DropoutSpec, StreamRNN, sample_masks
from eegseq.rnn.engine import median_seconds

tf.get_logger().setLevel("ERROR")  # one tf.function per variant is intended


def make_step(cell_name: str, preset: str, given: bool, x: tf.Tensor, y: tf.Tensor, units: int):
    """A compiled training step of 2 ``StreamRNN`` layers + a dense head; ``given``: pass pre-drawn masks."""
    eeg_cell = CELLS[cell_name][0]
    layers = [
        StreamRNN(eeg_cell(units, DropoutSpec.create(preset, rate=RATE)), return_sequences=index == 0, seed=index)
        for index in range(2)
    ]
    head = keras.layers.Dense(1)
    head(layers[1](layers[0](x)))  # build
    batch, steps = int(x.shape[0]), int(x.shape[1])
    masks = [
        sample_masks(layer.cell, batch, steps, seed=index) if given else None for index, layer in enumerate(layers)
    ]
    variables = [v for layer in [*layers, head] for v in layer.trainable_variables]
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            h = x
            for layer, layer_masks in zip(layers, masks):
                h = layer(h, masks=layer_masks, training=True)
            loss = tf.reduce_mean(tf.square(head(h) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return lambda: step().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--cell", default="lstm", choices=list(CELLS))
    masked = [p for p in PRESETS if p != "none"]
    parser.add_argument("--presets", nargs="+", default=masked, choices=masked)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((args.batch, args.steps, args.features), dtype=np.float32))
    y = tf.constant(rng.standard_normal((args.batch, 1), dtype=np.float32))
    runs = {"none": make_step(args.cell, "none", False, x, y, args.units)}
    for preset in args.presets:
        for given in (False, True):
            runs[f"{preset}/{'given' if given else 'drawn'}"] = make_step(args.cell, preset, given, x, y, args.units)
    medians = median_seconds(runs, args.repeats, warmups=2)
    base = medians["none"]
    print(
        f"{args.cell.upper()}: batch {args.batch}, {args.steps} steps, {args.features} features, {args.units} units, "
        f"2 layers, rate {RATE}; median of {args.repeats} training steps; none: {base * 1e3:.1f} ms\n"
    )
    print("| preset | drawn ms | given ms | drawn / none | given / none | (drawn - given) / none |")
    print("|---|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        drawn, given = medians[f"{preset}/drawn"], medians[f"{preset}/given"]
        print(
            f"| {preset} | {drawn * 1e3:.1f} | {given * 1e3:.1f} | {drawn / base:.2f} | {given / base:.2f} "
            f"| {(drawn - given) / base:.2f} |"
        )


if __name__ == "__main__":
    main()
