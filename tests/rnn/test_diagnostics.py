"""RNN diagnostics on cases with a known answer."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from eegseq.rnn import DropoutLSTMCell, DropoutSpec, StreamRNN
from eegseq.rnn.diagnostics import stock_mask_changes, stock_rnn_step, stream_rnn_step, unroll


def state_gradients(step, inputs, initial, loss_of):
    """``∂L/∂state_t`` for every state and step (the way the model-level diagnostic uses unroll)."""
    inputs_tm = tf.transpose(tf.convert_to_tensor(inputs), (1, 0, 2))
    nudges = [tf.zeros((inputs_tm.shape[0], *s.shape)) for s in initial]
    with tf.GradientTape() as tape:
        tape.watch(nudges)
        sequences = unroll(step, inputs_tm, initial, nudges)
        loss = loss_of(sequences)
    return [g.numpy() for g in tape.gradient(loss, nudges)], [s.numpy() for s in sequences]


def test_gradient_of_a_linear_recurrence_is_the_analytic_one():
    """h_t = h_{t-1} A + x_t, L = h_T · w  =>  ∂L/∂h_{T-k} = w (A^T)^k."""
    rng = np.random.default_rng(0)
    units, steps = 4, 30
    a = (0.9 * rng.standard_normal((units, units)) / np.sqrt(units)).astype(np.float32)
    w = rng.standard_normal(units).astype(np.float32)

    def step(t, x, states):
        return (tf.matmul(states[0], a) + x,)

    inputs = rng.standard_normal((1, steps, units)).astype(np.float32)
    (grads,), _ = state_gradients(step, inputs, (tf.zeros((1, units)),), lambda seqs: tf.reduce_sum(seqs[0][-1] * w))
    for k in range(steps):
        expected = w @ np.linalg.matrix_power(a.T.astype(np.float64), k)
        np.testing.assert_allclose(grads[steps - 1 - k, 0], expected, rtol=1e-4, atol=1e-6)


def saturated_layer(preset: str, rate: float, **settings) -> StreamRNN:
    """An LSTM whose forget gate is exactly 1 and whose h does not feed back (U = 0): c carries alone."""
    units = 32
    layer = StreamRNN(
        DropoutLSTMCell(units, DropoutSpec.create(preset, rate=rate, **settings)), return_sequences=True, seed=3
    )
    layer.build((None, None, 2))
    bias = np.zeros(4 * units, np.float32)
    bias[units : 2 * units] = 30.0  # sigmoid(30) == 1.0 in float32
    kernel = np.random.default_rng(1).standard_normal((2, 4 * units)).astype(np.float32)
    layer.cell.set_weights([kernel, np.zeros((units, 4 * units), np.float32), bias])
    return layer


def c_gradients(layer: StreamRNN, training: bool, batch: int = 64, steps: int = 12) -> np.ndarray:
    """``∂L/∂c_{T-k}``, ``(steps - 1, batch, units)`` for k = 1, 2, ...; L = Σ h_T.

    (The state after the last step feeds no later step, so ``∂L/∂c_T`` is 0: lags start at 1.)"""
    inputs = np.random.default_rng(2).standard_normal((batch, steps, 2)).astype(np.float32)
    state = layer.get_initial_state(batch)
    step, initial = stream_rnn_step(layer, inputs, tf.ones((batch,)), tf.range(batch, dtype=tf.int64), state, training)
    (_, d_c), _ = state_gradients(step, inputs, initial, lambda seqs: tf.reduce_sum(seqs[0][-1]))
    assert not d_c[-1].any()
    return d_c[::-1][1:]


@pytest.mark.parametrize("rate", [0.25, 0.5])
def test_moon_with_expectation_scaling_decays_as_q_to_the_k(rate):
    q = 1.0 - rate
    k = np.arange(1, 12)
    # inference: the memory mask is the constant q at every step, so ∂L/∂c_{T-k} = q^(k-1) ∂L/∂c_{T-1}, exactly
    inference = np.linalg.norm(
        c_gradients(saturated_layer("moon", rate, scaling="expectation", scope="step"), False), axis=-1
    )
    np.testing.assert_allclose(
        inference / inference[0], np.broadcast_to(q ** (k - 1.0)[:, None], inference.shape), rtol=1e-5
    )
    # training, a fresh {0, 1} mask per step: a unit's gradient survives k steps with probability q^k
    training = c_gradients(saturated_layer("moon", rate, scaling="expectation", scope="step"), True, batch=256)
    survived = (training != 0).mean(axis=(1, 2))  # over 256 lanes x 32 units
    np.testing.assert_allclose(survived[:6], q ** k[:6], rtol=0.1, atol=0.005)


def test_semeniuta_leaves_the_memory_gradient_alone():
    """∂c_t/∂c_{t-1} = f = 1 whatever the update mask: the gradient does not decay."""
    norms = np.linalg.norm(c_gradients(saturated_layer("semeniuta", 0.5), True), axis=-1)
    np.testing.assert_allclose(norms, np.broadcast_to(norms[0], norms.shape), rtol=1e-6)


@pytest.mark.parametrize(
    "preset, settings",
    [
        ("gal", {"scope": "step"}),
        ("keras", {"input_rate": 0.2}),
        ("semeniuta", {}),
        ("moon", {}),
        ("zoneout", {}),
        ("weight_drop", {}),
    ],
)
def test_unrolled_window_uses_the_layers_own_masks(preset, settings):
    """The diagnostic's unrolled window equals the layer's own training output, masks included,
    also in a window that continues a recording (carried state and step counters)."""
    layer = StreamRNN(
        DropoutLSTMCell(6, DropoutSpec.create(preset, rate=0.3, **settings)),
        return_sequences=True,
        return_state=True,
        seed=5,
    )
    rng = np.random.default_rng(4)
    first, second = (rng.standard_normal((3, 7, 4)).astype(np.float32) for _ in range(2))
    keys = tf.constant([11, 12, 13], tf.int64)
    _, *state = layer(first, reset=tf.ones(3), lane_keys=keys, training=True)
    expected, *_ = layer(second, reset=tf.zeros(3), lane_keys=keys, initial_state=state, training=True)
    step, initial = stream_rnn_step(layer, second, tf.zeros(3), keys, state, training=True)
    _, (h, _) = state_gradients(step, second, initial, lambda seqs: tf.reduce_sum(seqs[0]))
    np.testing.assert_allclose(np.transpose(h, (1, 0, 2)), expected.numpy(), atol=1e-5)


def test_unrolled_stock_window_equals_the_stock_layer_without_dropout():
    layer = keras.layers.GRU(5, return_sequences=True)
    inputs = np.random.default_rng(5).standard_normal((2, 9, 3)).astype(np.float32)
    expected = layer(inputs).numpy()
    step, initial = stock_rnn_step(layer, tf.ones(2), [tf.ones((2, 5))], training=True)
    _, (h,) = state_gradients(step, inputs, initial, lambda seqs: tf.reduce_sum(seqs[0]))
    np.testing.assert_allclose(np.transpose(h, (1, 0, 2)), expected, atol=1e-5)


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
def test_stock_mask_changes_are_measured(layer_class):
    keras.utils.set_random_seed(0)  # the stock layer draws from the global generator
    none = stock_mask_changes(layer_class(16, return_sequences=True))
    assert {way: entry["changes"] for way, entry in none.items()} == {"compiled": "never", "eager": "never"}
    assert none["compiled"]["drop_fraction"] == 0.0
    measured = stock_mask_changes(layer_class(16, recurrent_dropout=0.25, return_sequences=True), steps=32, batch=8)
    # what the stock layers do in TF 2.21 / tf-keras 2.21: a new mask every step inside tf.function,
    # one mask per call eagerly (as documented)
    assert measured["compiled"]["changes"] == "timestep" and measured["eager"]["changes"] == "window"
    assert measured["eager"]["step_change_fraction"] == 0.0 and measured["eager"]["call_change_fraction"] > 0.5
    # 2,048 mask elements compiled, 64 eager (one per lane and carrier): binomial bounds, 4 sigma
    assert abs(measured["compiled"]["drop_fraction"] - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 2048)
    assert abs(measured["eager"]["drop_fraction"] - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 64)
