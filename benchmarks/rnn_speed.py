"""Training-step and inference time of eegseq's recurrent layer against the stock tf-keras layers, side by side.

Training (default): one training step (forward, backward, Adam update) of a 2-layer recurrent
model (default: batch 16, 1,500 steps, 32 features, 64 units), for LSTM and GRU, for:

* ``stock_rd``: ``tf_keras.layers.LSTM/GRU(recurrent_dropout=0.25)`` (the baseline of the ratios),
* ``stock``: the stock layer without dropout,
* every eegseq preset with rate 0.25 (``StreamRNN``, training mode, default engine),
* for the LSTM, ``none`` and ``weight_drop`` forced onto TensorFlow's fused block LSTM kernel
  (``+fused``) and onto the XLA loop (``+xla``), the two engines the default chooses between,
* with ``--recompute``, every preset again under ``memory="recompute"`` (``+recompute``).

Inference (``--infer``): one 240,000-sample recording (10 minutes at 400 Hz, 16 channels) through
the default model of ``configs/default.yaml`` (causal CNN front-end -> 2-layer LSTM), streamed
window by window with its state carried, as ``eegseq evaluate`` does, on B = 1 and B = 16 lanes
(B recordings side by side), against the same model built with the stock ``tf_keras.layers.LSTM``
(no dropout, the same weights; their outputs are checked equal). Prints recording-hours per second.

Variants are timed round-robin (one step or one recording of each, repeated) so that machine noise
hits all of them alike; tables show medians and ratios. Targets: every preset <= 0.5x ``stock_rd``,
``none`` and ``weight_drop`` <= 0.3x; at inference the default at least as fast as ``stock``.

    python benchmarks/rnn_speed.py [--repeats 7] [--steps 1500] [--cells lstm gru] [--presets gal none ...]
    python benchmarks/rnn_speed.py --infer [--repeats 5] [--lanes 1 16]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import tf_keras as keras
import yaml

from eegseq.models import ModelConfig, StreamModel
from eegseq.models.frontend import frontend_layers
from eegseq.rnn import PRESETS, DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN
from eegseq.rnn.engine import median_seconds

tf.get_logger().setLevel("ERROR")  # one tf.function per model is intended, not a retracing bug

RATE = 0.25
CELLS = {"lstm": (DropoutLSTMCell, keras.layers.LSTM), "gru": (DropoutGRUCell, keras.layers.GRU)}
ENGINES = {"": {}, "fused": {"use_fused": True}, "xla": {"use_fused": False}, "recompute": {"memory": "recompute"}}
REPO = Path(__file__).resolve().parents[1]


def build_model(cell_name: str, variant: str, steps: int, features: int, units: int) -> keras.Model:
    eeg_cell, stock_layer = CELLS[cell_name]
    inputs = keras.Input((steps, features))
    x = inputs
    for layer_index, last in enumerate((False, True)):
        if variant.startswith("stock"):
            dropout = RATE if variant == "stock_rd" else 0.0
            x = stock_layer(units, return_sequences=not last, recurrent_dropout=dropout)(x)
        else:
            preset, _, engine = variant.partition("+")
            cell = eeg_cell(units, DropoutSpec.create(preset, rate=RATE))
            x = StreamRNN(cell, return_sequences=not last, seed=layer_index, **ENGINES[engine])(x, training=True)
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


def train_speed(args) -> None:
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((args.batch, args.steps, args.features), dtype=np.float32))
    y = tf.constant(rng.standard_normal((args.batch, 1), dtype=np.float32))
    print(
        f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}; batch {args.batch}, "
        f"{args.steps} steps, {args.features} features, {args.units} units, 2 layers, rate {RATE}; "
        f"median of {args.repeats} training steps"
    )
    for cell_name in args.cells:
        engines = [f"{p}+{e}" for p in ("none", "weight_drop") if p in args.presets for e in ("fused", "xla")]
        engines = engines if cell_name == "lstm" else []
        recompute = [f"{p}+recompute" for p in args.presets] if args.recompute else []
        variants = ["stock_rd", "stock", *args.presets, *engines, *recompute]
        steps = {v: make_step(build_model(cell_name, v, args.steps, args.features, args.units), x, y) for v in variants}
        medians = median_seconds(steps, args.repeats, warmups=2)
        print(
            f"\n{cell_name.upper()}\n| variant | median step (ms) | ratio to stock recurrent_dropout |\n|---|---:|---:|"
        )
        for variant in variants:
            print(f"| {variant} | {medians[variant] * 1e3:.1f} | {medians[variant] / medians['stock_rd']:.2f} |")


def stock_twin(config: ModelConfig) -> keras.Model:
    """The default model's computation with ``tf_keras.layers.LSTM`` layers: ``[signal, *states] ->
    [logit, *states]``, its weights in the same order as the eegseq model's."""
    crop = StreamModel.build(config).context // np.prod([block.stride for block in config.frontend])
    signal = keras.Input((None, config.channels))
    x = signal
    for layer in frontend_layers(config.frontend, config.normalization):
        x = layer(x)
    x = keras.layers.Cropping1D((int(crop), 0))(x)
    states_in, states_out = [], []
    for index in range(config.rnn.layers):
        units = config.rnn.layer(index)[1]
        h, c = keras.Input((units,)), keras.Input((units,))
        last = index == config.rnn.layers - 1
        x, h_out, c_out = keras.layers.LSTM(units, return_sequences=not last, return_state=True)(
            x, initial_state=[h, c]
        )
        states_in += [h, c]
        states_out += [h_out, c_out]
    return keras.Model([signal, *states_in], [keras.layers.Dense(1)(x), *states_out])


def recording_passes(models: dict, stock: keras.Model, windows: list, lanes: int, logits: dict) -> dict:
    """One callable per model that streams every window of the recording through it, carrying state,
    as ``eegseq evaluate`` does, and leaves its logits ``(lanes, windows)`` in ``logits``."""
    passes = {}
    for name, model in models.items():
        infer = tf.function(lambda signal, reset, keys, state, model=model: model(signal, reset, keys, state))

        def run(name=name, model=model, infer=infer):
            state, keys, out = model.initial_state(lanes), tf.zeros((lanes,), tf.int64), []
            for index, signal in enumerate(windows):
                logit, _, state = infer(signal, tf.fill((lanes,), float(index == 0)), keys, state)
                out.append(logit)
            logits[name] = tf.concat(out, 1).numpy()

        passes[name] = run
    stock_infer = tf.function(lambda signal, states: stock([signal, *states]))

    def run_stock():
        states, out = [tf.zeros((lanes, t.shape[-1])) for t in stock.inputs[1:]], []
        for signal in windows:
            logit, *states = stock_infer(signal, states)
            out.append(logit)
        logits["stock"] = tf.concat(out, 1).numpy()

    return {"stock": run_stock, **passes}


def infer_speed(args) -> None:
    config = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    model_config = ModelConfig(**config["model"])
    if model_config.rnn.cell != "lstm" or model_config.rnn.per_layer:
        raise SystemExit("--infer compares against tf_keras.layers.LSTM: the default model must be a plain LSTM stack")
    sfreq = float(config["data"]["synthetic"]["sfreq"])
    window = int(round(float(config["stream"]["window_seconds"]) * sfreq))
    samples = args.recording_samples
    models = {name: StreamModel.build(model_config) for name in ("eegseq default", "eegseq xla", "eegseq fused")}
    for name, engine in (("eegseq xla", False), ("eegseq fused", True)):
        for layer in models[name].rnn_layers:
            layer.use_fused = engine  # benchmark only: force each engine the default chooses between
    weights = models["eegseq default"].model.get_weights()
    for model in models.values():
        model.model.set_weights(weights)
    stock = stock_twin(model_config)
    stock.set_weights(weights)
    context = models["eegseq default"].context
    print(
        f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}; default model "
        f"({model_config.rnn.layers} x LSTM {model_config.rnn.units}, preset {model_config.rnn.dropout.preset}); "
        f"one recording of {samples} samples at {sfreq:g} Hz, windows of {window} samples; "
        f"median of {args.repeats} passes"
    )
    print("\n| lanes | variant | median s per pass | recording-hours per second | speed vs stock (stock time / time) |")
    print("|---:|---|---:|---:|---:|")
    for lanes in args.lanes:
        rng = np.random.default_rng(lanes)
        signal = rng.standard_normal((lanes, samples, model_config.channels), dtype=np.float32)
        padded = np.concatenate([np.zeros((lanes, context, model_config.channels), np.float32), signal], axis=1)
        windows = [tf.constant(padded[:, s : s + context + window]) for s in range(0, samples - window + 1, window)]
        logits: dict[str, np.ndarray] = {}
        medians = median_seconds(recording_passes(models, stock, windows, lanes, logits), args.repeats, warmups=2)
        for name in models:
            difference = np.abs(logits[name] - logits["stock"]).max()
            if difference > 1e-3:
                raise SystemExit(f"{name} and the stock model disagree by {difference:.2e} on the logits")
        hours = lanes * samples / sfreq / 3600
        for name, seconds in medians.items():
            print(f"| {lanes} | {name} | {seconds:.3f} | {hours / seconds:.1f} | {medians['stock'] / seconds:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--infer", action="store_true", help="time long-recording inference instead of training")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--recompute", action="store_true", help='also time every preset under memory="recompute"')
    parser.add_argument("--lanes", type=int, nargs="+", default=[1, 16], help="--infer: lanes (recordings at once)")
    parser.add_argument("--recording-samples", type=int, default=240_000, help="--infer: samples per recording")
    args = parser.parse_args()
    infer_speed(args) if args.infer else train_speed(args)


if __name__ == "__main__":
    main()
