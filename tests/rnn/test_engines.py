"""The XLA engine (with its recomputing gradient) and the fused LSTM kernel equal the plain loop."""

import numpy as np
import pytest
import tensorflow as tf

from comparison import assert_close_at_scale

from eegseq.rnn import PRESETS, DropoutGRUCell, DropoutLSTMCell, StreamRNN


@pytest.mark.parametrize("Cell", [DropoutLSTMCell, DropoutGRUCell], ids=["lstm", "gru"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_engines_agree_in_training_with_gradients(Cell, preset):
    rng = np.random.default_rng(3)
    x = tf.constant(rng.standard_normal((4, 13, 3)), tf.float32)
    rate = None if preset == "none" else 0.3
    layers = {
        name: StreamRNN(Cell(5, preset, rate=rate, input_rate=0.2), return_sequences=True, seed=11, **options)
        for name, options in {
            "loop": dict(jit_compile=False, use_fused=False),
            "xla": dict(jit_compile=True, use_fused=False),
            "default": dict(),
        }.items()
    }
    weights = None
    results = {}
    for name, layer in layers.items():
        layer(x)
        weights = weights or [w + rng.normal(0, 0.2, w.shape).astype(np.float32) for w in layer.get_weights()]
        layer.set_weights(weights)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, lane_keys=[3, 1, 4, 1], mask_seed=5, training=True)
            loss = tf.reduce_sum(tf.cos(y))
        results[name] = [y, *tape.gradient(loss, [x, *layer.trainable_weights])]
    for name in ("xla", "default"):
        for got, want in zip(results[name], results["loop"]):
            assert_close_at_scale(got.numpy(), want.numpy())
