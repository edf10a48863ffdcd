"""Carried state and masks: window invariance, per-lane resets, stateful layers, long memory."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from eegseq.rnn import DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN

RECORDING_SCOPE = ["none", "gal", "gal_tied", "semeniuta_seq", "moon"]


def _pair(Cell, preset, **layer_kwargs):
    scope = "recording" if preset == "none" else None  # so that its input mask lives per recording too
    return StreamRNN(
        Cell(6, DropoutSpec.create(preset, rate=0.35, scope=scope, input_rate=0.2)),
        return_sequences=True,
        return_state=True,
        seed=7,
        **layer_kwargs,
    )


@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
@pytest.mark.parametrize("Cell", [DropoutLSTMCell, DropoutGRUCell], ids=["lstm", "gru"])
@pytest.mark.parametrize("preset", RECORDING_SCOPE)
def test_whole_equals_windows(preset, Cell, training):
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((3, 30, 4)), tf.float32)
    layer = _pair(Cell, preset)
    keys = [5, 6, 7]
    whole = layer(x, lane_keys=keys, training=training)
    state, pieces = None, []
    for start, stop in ((0, 7), (7, 19), (19, 20), (20, 30)):  # uneven windows
        result = layer(x[:, start:stop], lane_keys=keys, initial_state=state, training=training)
        pieces.append(result[0])
        state = result[1:]
    np.testing.assert_allclose(tf.concat(pieces, 1).numpy(), whole[0].numpy(), atol=1e-5)
    for got, want in zip(state, whole[1:]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_window_scope_is_not_window_invariant():
    """The control: `keras` (window scope) draws anew per window, so cutting changes the outputs."""
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((2, 20, 4)), tf.float32)
    layer = _pair(DropoutLSTMCell, "keras")
    whole = layer(x, training=True)[0]
    first = layer(x[:, :10], training=True)
    second = layer(x[:, 10:], initial_state=first[1:], training=True)[0]
    np.testing.assert_allclose(first[0].numpy(), whole[:, :10].numpy(), atol=1e-6)
    assert np.abs(second.numpy() - whole[:, 10:].numpy()).max() > 1e-3


@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
def test_reset_touches_only_its_lane(training):
    rng = np.random.default_rng(2)
    a, b = (tf.constant(rng.standard_normal((2, 9, 4)), tf.float32) for _ in range(2))
    layer = _pair(DropoutGRUCell, "gal")
    first = layer(a, lane_keys=[1, 2], training=training)
    second = layer(b, reset=[0, 1], lane_keys=[1, 9], initial_state=first[1:], training=training)
    # Lane 0 continues its recording: as if the two windows were one.
    whole = layer(tf.concat([a, b], 1), lane_keys=[1, 2], training=training)
    np.testing.assert_allclose(second[0].numpy()[0], whole[0].numpy()[0, 9:], atol=1e-5)
    # Lane 1 starts recording 9 afresh: as if the window were its first.
    fresh = layer(b, lane_keys=[1, 9], training=training)
    np.testing.assert_allclose(second[0].numpy()[1], fresh[0].numpy()[1], atol=1e-5)


def test_stateful_layer_carries_and_resets():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 12, 4)).astype(np.float32)
    inputs = keras.Input((None, 4), batch_size=2)
    reset = keras.Input((), batch_size=2)
    layer = StreamRNN(
        DropoutLSTMCell(5, DropoutSpec.create("gal", rate=0.3)), return_sequences=True, stateful=True, seed=1
    )
    model = keras.Model([inputs, reset], layer(inputs, reset=reset))
    reference = StreamRNN(DropoutLSTMCell(5, DropoutSpec.create("gal", rate=0.3)), return_sequences=True, seed=1)
    reference(x)
    reference.set_weights(layer.get_weights())
    no_reset = np.zeros(2, np.float32)

    @tf.function
    def train_call(x, r):
        return model([x, r], training=True)

    whole = reference(x, training=True).numpy()
    pieces = np.concatenate([train_call(x[:, :5], no_reset).numpy(), train_call(x[:, 5:], no_reset).numpy()], 1)
    np.testing.assert_allclose(pieces, whole, atol=1e-5)  # state and masks carried by variables
    restarted = train_call(x[:, :5], np.array([1, 1], np.float32)).numpy()
    np.testing.assert_allclose(restarted, whole[:, :5], atol=1e-5)
    layer.reset_states()
    np.testing.assert_allclose(train_call(x[:, :5], no_reset).numpy(), whole[:, :5], atol=1e-5)


def test_stateful_needs_fixed_batch():
    layer = StreamRNN(DropoutGRUCell(3), stateful=True)
    with pytest.raises(ValueError, match="fixed batch size"):
        keras.Model(*(lambda i: (i, layer(i)))(keras.Input((None, 2))))


def _saturated_lstm(preset):
    """A 1-unit LSTM whose gates are saturated: i = 0, f = 1, o = 1, and no input or recurrent weights."""
    layer = StreamRNN(
        DropoutLSTMCell(1, DropoutSpec.create(preset, rate=0.5, scaling="expectation")), return_state=True
    )
    layer(np.zeros((1, 1, 1), np.float32))
    bias = np.array([-40.0, 40.0, 0.0, 40.0], np.float32)  # i, f, g, o
    layer.set_weights([np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32), bias])
    return layer


@pytest.mark.parametrize("steps", [1, 5, 20])
def test_moon_expectation_scales_old_memory_by_q_per_step_semeniuta_does_not(steps):
    x = np.zeros((1, steps, 1), np.float32)
    initial = [np.zeros((1, 1), np.float32), np.ones((1, 1), np.float32)]  # h0 = 0, c0 = 1
    moon_c = _saturated_lstm("moon")(x, initial_state=initial, training=False)[2].numpy()[0, 0]
    semeniuta_c = _saturated_lstm("semeniuta")(x, initial_state=initial, training=False)[2].numpy()[0, 0]
    np.testing.assert_allclose(moon_c, 0.5**steps, rtol=1e-5)  # q^k
    np.testing.assert_allclose(semeniuta_c, 1.0, rtol=1e-5)  # dc_t/dc_{t-1} = f = 1 untouched
