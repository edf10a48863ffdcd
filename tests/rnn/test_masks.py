"""Sampled masks: keep rates, values, lifetimes and keys, as the contract says."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from eegseq.rnn import DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN, recording_keys, sample_masks


def _cell(Cell=DropoutLSTMCell, units=64, features=16, **settings):
    cell = Cell(units, DropoutSpec.create(**settings))
    cell.build((None, features))
    return cell


@pytest.mark.parametrize("scaling, on_value", [("inverted", 1 / 0.7), ("expectation", 1.0), ("none", 1.0)])
@pytest.mark.parametrize("scheme", ["gal", "semeniuta", "moon", "weight_drop"])
def test_keep_rate_and_values(scheme, scaling, on_value):
    scope = "window" if scheme == "weight_drop" else "recording"
    cell = _cell(scheme=scheme, rate=0.3, scope=scope, scaling=scaling, input_rate=0.5)
    masks = sample_masks(cell, 32, 10, seed=1, lane_keys=np.arange(32) * 7)
    for name, mask in masks.items():
        values = mask.numpy()
        q = 0.5 if name == "input" else 0.7
        expected_on = 1 / q if scaling == "inverted" else 1.0
        np.testing.assert_allclose(np.unique(values), [0.0, np.float32(expected_on)], rtol=1e-6)
        kept = np.mean(values > 0)
        sigma = np.sqrt(q * (1 - q) / values.size)
        assert abs(kept - q) < 5 * sigma, (name, kept, q)


def test_zoneout_masks_keep_old_value_with_its_rate():
    cell = _cell(scheme="zoneout", zoneout_h=0.15, zoneout_c=0.6)
    masks = sample_masks(cell, 32, 40, seed=3)
    for name, rate in (("zoneout_h", 0.15), ("zoneout_c", 0.6)):
        values = masks[name].numpy()
        assert values.shape == (32, 40, 64)  # step scope: one mask per step
        assert set(np.unique(values)) == {0.0, 1.0}
        assert abs(values.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / values.size)


@pytest.mark.parametrize("preset", ["gal", "keras", "semeniuta", "zoneout", "weight_drop"])
def test_same_recording_same_masks_whichever_lane(preset):
    cell = _cell(DropoutGRUCell, units=8, features=4, preset=preset, rate=0.4, input_rate=0.3)
    a = sample_masks(cell, 3, 5, seed=9, lane_keys=[101, 202, 303], steps_seen=[0, 5, 10])
    b = sample_masks(cell, 3, 5, seed=9, lane_keys=[303, 101, 202], steps_seen=[10, 0, 5])
    for name in a:
        if name == "weight":  # one mask for all lanes, keyed on the whole batch's positions
            np.testing.assert_array_equal(a[name].numpy(), b[name].numpy())
        else:
            np.testing.assert_array_equal(a[name].numpy(), b[name].numpy()[[1, 2, 0]])


def test_keys_change_masks():
    cell = _cell(scheme="gal", rate=0.5, scope="window")
    base = sample_masks(cell, 2, 1, seed=1, lane_keys=[1, 2])["recurrent"].numpy()
    for kwargs in (
        dict(seed=2, lane_keys=[1, 2]),
        dict(seed=1, lane_keys=[3, 4]),
        dict(seed=1, lane_keys=[1, 2], steps_seen=[8, 8]),
    ):
        other = sample_masks(cell, 2, 1, **kwargs)["recurrent"].numpy()
        assert np.mean(other != base) > 0.3
    assert not np.array_equal(base[0], base[1])  # lanes differ


def test_recording_keys_fold_recording_epoch_and_run_seed():
    keys = recording_keys(tf.constant(["a", "b", "a"]), 3, 7).numpy()
    assert keys.dtype == np.int64 and keys[0] == keys[2] != keys[1]  # the recording, not the lane, decides
    for other in (recording_keys(tf.constant(["a"]), 4, 7), recording_keys(tf.constant(["a"]), 3, 8)):
        assert other.numpy()[0] != keys[0]
    np.testing.assert_array_equal(recording_keys(tf.constant(["b", "a"]), 3, 7).numpy(), keys[[1, 0]])
    cell = _cell(scheme="gal", rate=0.5, scope="recording")
    epoch3 = sample_masks(cell, 3, 1, lane_keys=keys)["recurrent"].numpy()
    epoch4 = sample_masks(cell, 3, 1, lane_keys=recording_keys(tf.constant(["a", "b", "a"]), 4, 7))["recurrent"]
    np.testing.assert_array_equal(epoch3[0], epoch3[2])
    assert np.mean(epoch3 != epoch4.numpy()) > 0.3  # a new epoch draws new masks


def test_plain_rnn_draws_a_fresh_keyed_mask_at_every_step():
    """Inside ``tf_keras.layers.RNN`` a GRU with ``moon`` at step scope gives ``h_t = m ⊙ h̃_t``: an
    output is exactly 0 where the mask drops it, so the zeros show each step's mask."""
    keras.utils.set_random_seed(0)
    rate, batch, steps, units = 0.4, 16, 20, 32
    layer = keras.layers.RNN(
        DropoutGRUCell(units, DropoutSpec.create("moon", rate=rate, scope="step")), return_sequences=True
    )
    x = tf.constant(np.random.default_rng(0).standard_normal((batch, steps, 3)), tf.float32)
    dropped = layer(x, training=True).numpy() == 0.0
    assert abs(dropped.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / dropped.size)
    assert all(np.mean(dropped[:, t] != dropped[:, t + 1]) > 0.2 for t in range(steps - 1))  # fresh every step
    assert np.mean(dropped[0] != dropped[1]) > 0.2  # lanes differ
    assert not np.any(layer(x, training=False).numpy() == 0.0)  # inference: no mask
    # A one-step window from h_0 = 0 shows the mask's values: h_1 = m ⊙ h̃_1 with m in {0, 1/q}.
    ratio = layer(x[:, :1], training=True).numpy() / layer(x[:, :1], training=False).numpy()
    np.testing.assert_allclose(np.unique(ratio.round(5)), [0.0, round(1 / (1 - rate), 5)])


def test_plain_rnn_refuses_scopes_it_cannot_honour():
    layer = keras.layers.RNN(DropoutLSTMCell(4, DropoutSpec.create("gal", rate=0.3)))
    with pytest.raises(ValueError, match="scope='recording' needs eegseq.rnn.StreamRNN"):
        layer(tf.zeros((2, 3, 5)), training=True)


def test_scope_lifetimes():
    step = _cell(scheme="semeniuta", rate=0.5, scope="step")
    full = sample_masks(step, 2, 10, seed=4, steps_seen=[0, 0])["update"].numpy()
    tail = sample_masks(step, 2, 5, seed=4, steps_seen=[5, 5])["update"].numpy()
    np.testing.assert_array_equal(full[:, 5:], tail)  # keyed by absolute step: window cuts don't matter
    assert all(not np.array_equal(full[:, t], full[:, t + 1]) for t in range(9))  # fresh every step

    window = _cell(scheme="semeniuta", rate=0.5, scope="window")
    first = sample_masks(window, 2, 10, seed=4, steps_seen=[0, 0])["update"].numpy()
    assert first.shape == (2, 64)  # one mask per lane for the whole window
    second = sample_masks(window, 2, 10, seed=4, steps_seen=[10, 10])["update"].numpy()
    assert np.mean(first != second) > 0.3  # a new window draws anew

    recording = _cell(scheme="semeniuta", rate=0.5, scope="recording")
    a = sample_masks(recording, 2, 10, seed=4, steps_seen=[0, 0])["update"].numpy()
    b = sample_masks(recording, 2, 10, seed=4, steps_seen=[10, 30])["update"].numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("Cell", [DropoutLSTMCell, DropoutGRUCell], ids=["lstm", "gru"])
@pytest.mark.parametrize(
    "preset", ["keras", "gal", "gal_tied", "semeniuta", "semeniuta_seq", "moon", "zoneout", "weight_drop"]
)
def test_layer_draws_the_documented_masks_across_windows_and_resets(Cell, preset):
    """Two windows with a reset of lane 0 before the second: the layer's own draws equal
    ``sample_masks`` with the counters the contract gives, and carried masks move only on reset."""
    rng = np.random.default_rng(0)
    x1, x2 = (tf.constant(rng.standard_normal((2, 6, 3)), tf.float32) for _ in range(2))
    layer = StreamRNN(
        Cell(4, DropoutSpec.create(preset, rate=0.4, input_rate=0.3)), return_sequences=True, return_state=True, seed=5
    )
    replay = StreamRNN(
        Cell(4, DropoutSpec.create(preset, rate=0.4, input_rate=0.3)), return_sequences=True, return_state=True, seed=5
    )
    layer(x1)
    replay(x1)
    replay.set_weights(layer.get_weights())
    n_cell = len(layer.cell.state_size)

    first = layer(x1, lane_keys=[11, 22], training=True)
    masks1 = sample_masks(layer.cell, 2, 6, seed=5, lane_keys=[11, 22], steps_seen=[0, 0])
    expected1 = replay(x1, masks=masks1, training=True)
    np.testing.assert_allclose(first[0].numpy(), expected1[0].numpy(), atol=1e-6)

    second = layer(x2, reset=[1, 0], lane_keys=[33, 22], initial_state=first[1:], training=True)
    drawn = sample_masks(layer.cell, 2, 6, seed=5, lane_keys=[33, 22], steps_seen=[0, 6])
    # The reset lane draws for its new recording; the other keeps its recording-scope masks.
    carried_names = [n[len("mask_") :] for n in layer.state_names[n_cell + 1 :]]
    masks2 = dict(drawn)
    for name in carried_names:
        masks2[name] = tf.concat([drawn[name][:1], masks1[name][1:]], 0)
        carried = second[1 + layer.state_names.index(f"mask_{name}")].numpy()
        np.testing.assert_array_equal(carried[1], first[1 + layer.state_names.index(f"mask_{name}")].numpy()[1])
        np.testing.assert_array_equal(carried, masks2[name].numpy())
    initial = [s.numpy() for s in first[1 : 1 + n_cell]]
    for state in initial:
        state[0] = 0.0  # the reset lane starts from zeros
    expected2 = replay(x2, masks=masks2, initial_state=initial, training=True)
    np.testing.assert_allclose(second[0].numpy(), expected2[0].numpy(), atol=1e-6)
    np.testing.assert_array_equal(second[1 + n_cell].numpy(), [[1, 6], [1, 12]])  # lane: ready, steps_seen


def test_explicit_masks_must_be_complete():
    layer = StreamRNN(DropoutLSTMCell(4, DropoutSpec.create("gal", rate=0.3, input_rate=0.2)))
    layer(np.zeros((2, 3, 5), np.float32))
    masks = sample_masks(layer.cell, 2, 3)
    with pytest.raises(ValueError, match=r"expected \['input', 'recurrent'\], got \['recurrent'\]"):
        layer(np.zeros((2, 3, 5), np.float32), masks={"recurrent": masks["recurrent"]}, training=True)
    with pytest.raises(ValueError, match="got \\['input', 'recurrent', 'update'\\]"):
        layer(np.zeros((2, 3, 5), np.float32), masks={**masks, "update": masks["recurrent"]}, training=True)
