"""Chrono initialisation: the biases of Tallec & Ollivier (2018), in the gates Keras' layers read them from."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from eegseq.rnn import ChronoBias, DropoutGRUCell, DropoutLSTMCell, StreamRNN

UNITS, MAX_STEPS, STEPS = 64, 1000, 40


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_lstm_bias_is_the_papers():
    bias = ChronoBias("lstm", MAX_STEPS, seed=0)((4 * UNITS,)).numpy()
    i, f, g, o = np.split(bias, 4)
    # b_f = log(u), u ~ U(1, T_max - 1); b_i = -b_f; the other gates 0
    assert np.all(np.exp(f) >= 1.0) and np.all(np.exp(f) <= MAX_STEPS - 1)
    np.testing.assert_allclose(i, -f, rtol=0, atol=1e-6)
    assert not g.any() and not o.any()
    # the forget gates' time constants 1 / (1 - σ(b_f)) = 1 + u spread over [2, T_max]
    tau = 1.0 / (1.0 - _sigmoid(f.astype(np.float64)))
    assert tau.min() < MAX_STEPS / 10 and tau.max() > MAX_STEPS / 2
    np.testing.assert_array_equal(bias, ChronoBias("lstm", MAX_STEPS, seed=0)((4 * UNITS,)).numpy())
    assert not np.array_equal(bias, ChronoBias("lstm", MAX_STEPS, seed=1)((4 * UNITS,)).numpy())


def test_gru_bias_sets_the_update_gate_only():
    bias = ChronoBias("gru", MAX_STEPS, seed=0)((2, 3 * UNITS)).numpy()
    z = bias[0, :UNITS]
    assert np.all(np.exp(z) >= 1.0) and np.all(np.exp(z) <= MAX_STEPS - 1)
    assert not bias[0, UNITS:].any() and not bias[1].any()


@pytest.mark.parametrize(
    "cell, shape",
    [("lstm", (2, 4 * UNITS)), ("gru", (3 * UNITS,)), ("gru", (3, 3 * UNITS))],
)
def test_a_bias_of_another_layout_is_refused(cell, shape):
    with pytest.raises(ValueError, match="bias shape"):
        ChronoBias(cell, MAX_STEPS)(shape)


@pytest.mark.parametrize("kwargs", [{"cell": "rnn", "max_steps": 10}, {"cell": "lstm", "max_steps": 2}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError, match="ChronoBias"):
        ChronoBias(**kwargs)


def _decay(layer, state_count: int) -> np.ndarray:
    """The carried c (LSTM) or h (GRU) after STEPS zero inputs from all-ones states, zero kernels."""
    x = tf.zeros((1, STEPS, 3))
    layer(x)  # build
    layer.set_weights([w if w.ndim == 1 or w.shape[0] == 2 else np.zeros_like(w) for w in layer.get_weights()])
    initial = [tf.ones((1, UNITS)) for _ in range(state_count)]
    return np.asarray(layer(x, initial_state=initial)[state_count])[0]  # LSTM: c, GRU: h


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_decays_with_the_chrono_time_constants(cell):
    """With zero kernels and inputs an LSTM's cell state (a GRU's h) decays by σ(b_f) (σ(b_z)) per step:
    the bias reaches the gate that carries memory, in tf-keras' layer and in eegseq's cell alike."""
    initializer = ChronoBias(cell, MAX_STEPS, seed=3)
    bias = initializer((4 * UNITS,) if cell == "lstm" else (2, 3 * UNITS)).numpy()
    keep = _sigmoid((bias[UNITS : 2 * UNITS] if cell == "lstm" else bias[0, :UNITS]).astype(np.float64))
    expected = keep**STEPS
    states = 2 if cell == "lstm" else 1
    extra = {"unit_forget_bias": False} if cell == "lstm" else {}
    stock = (keras.layers.LSTM if cell == "lstm" else keras.layers.GRU)(
        UNITS, bias_initializer=initializer, return_state=True, **extra
    )
    ours = StreamRNN(
        (DropoutLSTMCell if cell == "lstm" else DropoutGRUCell)(UNITS, bias_initializer=initializer, **extra),
        return_state=True,
    )
    for layer in (stock, ours):
        np.testing.assert_allclose(_decay(layer, states), expected, rtol=1e-4)


def test_unit_forget_bias_still_adds_one_by_default():
    cell = DropoutLSTMCell(4)
    cell.build((None, 3))
    np.testing.assert_array_equal(np.split(cell.bias.numpy(), 4)[1], np.ones(4))
    assert (
        keras.layers.deserialize(keras.layers.serialize(DropoutLSTMCell(4, unit_forget_bias=False))).unit_forget_bias
        is False
    )
