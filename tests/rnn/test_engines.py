"""The XLA engine (with its own backward pass) and the fused LSTM kernel equal the plain loop."""

import zlib

import numpy as np
import pytest
import tensorflow as tf
from comparison import assert_close_at_scale
from dropout_settings import IDS, SETTINGS, B, D, T, U, explicit_masks

from eegseq.rnn import PRESETS, DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN


@pytest.mark.parametrize("Cell", [DropoutLSTMCell, DropoutGRUCell], ids=["lstm", "gru"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_engines_agree_in_training_with_gradients(Cell, preset):
    """Every engine against TensorFlow's gradient of the plain loop: the XLA loop keeping every step
    (``save``) or recomputing segments (``recompute``; 13 steps = segments of 4, 4, 4, 1), the fused
    kernel, and the default's choice between them."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.standard_normal((4, 13, 3)), tf.float32)
    layers = {
        name: StreamRNN(
            Cell(5, DropoutSpec.create(preset, rate=0.3, input_rate=0.2)),
            return_sequences=True,
            return_state=True,
            seed=11,
            **options,
        )
        for name, options in {
            "loop": dict(jit_compile=False, use_fused=False),
            "xla": dict(jit_compile=True, use_fused=False),
            "recompute": dict(jit_compile=True, memory="recompute"),
            "fused": dict(jit_compile=True, use_fused=True),
            "default": dict(),
        }.items()
    }
    weights = None
    results = {}
    for name, layer in layers.items():
        layer(x)
        weights = weights or [w + rng.normal(0, 0.2, w.shape).astype(np.float32) for w in layer.get_weights()]
        layer.set_weights(weights)
        n_cell = len(layer.cell.state_size)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y, *states = layer(x, lane_keys=[3, 1, 4, 1], training=True)
            loss = tf.reduce_sum(tf.cos(y)) + sum(tf.reduce_sum(tf.sin(s)) for s in states[:n_cell])
        results[name] = [y, *states[:n_cell], *tape.gradient(loss, [x, *layer.trainable_weights])]
    for name in ("xla", "recompute", "fused", "default"):
        for got, want in zip(results[name], results["loop"]):
            assert_close_at_scale(got.numpy(), want.numpy())


def test_memory_option_is_checked():
    cell = DropoutLSTMCell(4)
    with pytest.raises(ValueError, match="memory='all' is not valid; expected one of 'save', 'recompute'"):
        StreamRNN(cell, memory="all")
    with pytest.raises(ValueError, match="memory='recompute' needs jit_compile=True"):
        StreamRNN(cell, memory="recompute", jit_compile=False)
    with pytest.raises(ValueError, match="use_fused=True keeps every step"):
        StreamRNN(cell, memory="recompute", use_fused=True)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_xla_gradients_equal_loop_for_every_setting(kind, training, settings):
    """The XLA engine's hand-ordered backward pass against TensorFlow's gradient of the plain loop,
    with per-step, per-window and scalar (inference) masks of every shape the contract has."""
    rng = np.random.default_rng(zlib.crc32(f"{kind}{training}{sorted(settings.items())}".encode()))
    Cell = DropoutLSTMCell if kind == "lstm" else DropoutGRUCell
    x = tf.constant(rng.standard_normal((B, T, D)), tf.float32)
    initial = [tf.constant(rng.standard_normal((B, U)), tf.float32) for _ in range(2 if kind == "lstm" else 1)]
    masks = explicit_masks(kind, settings, rng) if training else None
    results = []
    weights = None
    for jit_compile in (False, True):
        layer = StreamRNN(
            Cell(U, DropoutSpec.create(**settings)),
            return_sequences=True,
            return_state=True,
            jit_compile=jit_compile,
            use_fused=False,
        )
        layer(x)
        weights = weights or [w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()]
        layer.set_weights(weights)
        with tf.GradientTape() as tape:
            tape.watch([x, *initial])
            outputs = layer(x, initial_state=initial, masks=masks, training=training)[: 1 + len(initial)]
            loss = sum(tf.reduce_sum(tf.sin(o) * (i + 1)) for i, o in enumerate(outputs))
        results.append([*outputs, *tape.gradient(loss, [x, *initial, *layer.trainable_weights])])
    for got, want in zip(results[1], results[0]):
        # Masks up to 2 (moon, semeniuta under scaling "none") grow terms that later cancel, so
        # float32 rounding reaches ~4e-5 of the scale here; a wrong term would be off by O(1).
        assert_close_at_scale(got.numpy(), want.numpy(), rel=1e-4)


def test_engine_choice_is_timed_once_per_setting_and_fixed_under_determinism():
    from tensorflow.python.framework import config as tf_config  # op determinism's switch and query

    from eegseq.rnn import engine

    cell = DropoutLSTMCell(3)
    cell.build((None, 2))
    deterministic = tf_config.is_op_determinism_enabled()
    try:
        tf_config.disable_op_determinism()
        before = engine._fused_is_faster.cache_info()
        first = engine.use_fused(cell, 2, 4, True)
        assert engine.use_fused(cell, 2, 4, True) == first
        after = engine._fused_is_faster.cache_info()
        assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)  # timed once, then kept
        tf_config.enable_op_determinism()
        assert engine.use_fused(cell, 2, 4, True) == bool(tf.config.list_logical_devices("GPU"))
        assert engine._fused_is_faster.cache_info().hits == after.hits  # no clock under determinism
    finally:
        (tf_config.enable_op_determinism if deterministic else tf_config.disable_op_determinism)()
