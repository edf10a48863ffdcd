"""The CNN -> stacked StreamRNN model: receptive field, exact streaming, config validation."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from pydantic import ValidationError

from eegseq.models import ConvBlockConfig, ModelConfig, StreamModel, predict_recording

SMALL = dict(
    channels=3,
    normalization="layer",
    frontend=[ConvBlockConfig(filters=4, kernel_size=5, stride=2), ConvBlockConfig(filters=4, kernel_size=3, stride=3)],
    rnn={"layers": 2, "units": 5, "dropout": {"preset": "gal", "rate": 0.3, "input_rate": 0.1}},
    step_head=True,
)


def test_receptive_field_matches_impulse_response():
    """Perturb one input sample at a time and see which front-end outputs move (brute force)."""
    config = ModelConfig(**SMALL)
    model = StreamModel.build(config)
    frontend = keras.Model(model.model.get_layer("signal").output, model.model.get_layer("act_1").output)
    n = 60
    base = frontend(np.zeros((1, n, 3), np.float32)).numpy()
    last_output = base.shape[1] - 1
    touched = []
    for sample in range(n):
        x = np.zeros((1, n, 3), np.float32)
        x[0, sample] = 1.0
        if np.abs(frontend(x).numpy()[0, last_output] - base[0, last_output]).max() > 0:
            touched.append(sample)
    assert len(range(min(touched), max(touched) + 1)) == model.receptive_field == 1 + 4 + 2 * 2
    assert model.stride == 6 and model.context == 12  # 8 rounded up to a multiple of the stride


@pytest.mark.parametrize("window", [6, 18, 36])
def test_predictions_are_the_same_whole_and_in_windows(window):
    model = StreamModel.build(ModelConfig(**SMALL))
    signal = np.random.default_rng(0).standard_normal((108, 3)).astype(np.float32)
    whole = predict_recording(model, signal, 108)
    windowed = predict_recording(model, signal, window)
    np.testing.assert_allclose(windowed[-1], whole[-1], atol=1e-5)
    # Every window's logit equals the logit of the whole prefix that ends with it.
    for index, logit in enumerate(windowed):
        prefix = signal[: (index + 1) * window]
        np.testing.assert_allclose(logit, predict_recording(model, prefix, len(prefix))[-1], atol=1e-5)


def test_training_mode_is_window_invariant_with_recording_masks():
    config = ModelConfig(**{**SMALL, "rnn": {**SMALL["rnn"], "between_dropout": 0.0}})
    model = StreamModel.build(config)
    signal = np.random.default_rng(1).standard_normal((1, 72, 3)).astype(np.float32)
    padded = np.concatenate([np.zeros((1, model.context, 3), np.float32), signal], 1)
    reset, keys = np.ones(1, np.float32), np.array([42])
    _, whole, _ = model(padded, reset, keys, model.initial_state(1), training=True)
    state, pieces = model.initial_state(1), []
    for start in range(0, 72, 36):
        window = padded[:, start : start + model.context + 36]
        _, steps, state = model(window, np.array([float(start == 0)], np.float32), keys, state, training=True)
        pieces.append(steps)
    np.testing.assert_allclose(tf.concat(pieces, 1).numpy(), whole.numpy(), atol=1e-5)


def test_window_must_be_a_multiple_of_the_stride():
    model = StreamModel.build(ModelConfig(**SMALL))
    with pytest.raises(ValueError, match="multiple of the model's total stride 6"):
        model.check_window(10)


def test_saved_model_reloads_with_stream_metadata(tmp_path):
    model = StreamModel.build(ModelConfig(**SMALL))
    model.model.save(tmp_path / "model.keras")
    loaded = StreamModel(keras.models.load_model(tmp_path / "model.keras"))
    assert (loaded.receptive_field, loaded.stride, loaded.context) == (
        model.receptive_field,
        model.stride,
        model.context,
    )
    signal = np.random.default_rng(2).standard_normal((36, 3)).astype(np.float32)
    np.testing.assert_array_equal(predict_recording(loaded, signal, 12), predict_recording(model, signal, 12))


@pytest.mark.parametrize(
    "change, words",
    [
        ({"rnn": {"dropout": {"preset": "weight_drop", "rate": 0.2, "scope": "recording"}}}, ["scope='recording'"]),
        ({"rnn": {"dropout": {"preset": "bayes"}}}, ["preset='bayes'"]),
        ({"rnn": {"units": 0}}, ["rnn.units"]),
        ({"frontend": [{"filters": 4, "kernel_size": 3, "strides": 2}]}, ["frontend.0.strides"]),
    ],
)
def test_invalid_config_names_the_field(change, words):
    with pytest.raises(ValidationError) as error:
        ModelConfig(**change)
    for word in words:
        assert word in str(error.value)
