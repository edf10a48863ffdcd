"""StateProbe: one window of the model unrolled, against the model itself and the head's gradient."""

import numpy as np
import pytest
import tensorflow as tf
from small_models import small_config

from eegseq.models import StreamModel
from eegseq.models.probe import StateProbe


def model(implementation: str, preset: str = "gal", cell: str = "lstm") -> StreamModel:
    dropout = {"preset": preset, "rate": 0.3}
    return StreamModel.build(small_config(implementation, cell=cell, dropout=dropout, between_dropout=0.2))


def second_window(stream_model: StreamModel, training: bool):
    """A window that continues two recordings: (signal, reset, keys, state before it)."""
    rng = np.random.default_rng(0)
    length = stream_model.context + 36
    first, second = (rng.standard_normal((2, length, 3)).astype(np.float32) for _ in range(2))
    keys = np.array([5, 9])
    _, _, state = stream_model(first, np.ones(2, np.float32), keys, stream_model.initial_state(2), training=training)
    return second, np.zeros(2, np.float32), keys, state


@pytest.mark.parametrize("preset", ["gal", "semeniuta", "moon", "keras"])
@pytest.mark.parametrize("training", [False, True])
def test_probe_reproduces_the_model(preset, training):
    stream_model = model("eegseq", preset)
    signal, reset, keys, state = second_window(stream_model, training)
    expected, steps, _ = stream_model(signal, reset, keys, state, training=training)
    probed = StateProbe(stream_model)(signal, reset, keys, state, labels=np.array([1, 0]), training=training)
    np.testing.assert_allclose(probed.logits, expected.numpy()[:, 0], atol=1e-5)
    assert probed.states["rnn_1__h"].shape == (2, 6, 5) and set(probed.gradients) == set(probed.states)


def test_probe_reproduces_the_stock_model_in_inference():
    stream_model = model("tf_keras_builtin", "keras", "gru")
    signal, reset, keys, state = second_window(stream_model, False)
    expected, _, _ = stream_model(signal, reset, keys, state, training=False)
    probed = StateProbe(stream_model)(signal, reset, keys, state, labels=np.array([1, 0]), training=False)
    np.testing.assert_allclose(probed.logits, expected.numpy()[:, 0], atol=1e-5)


def test_last_step_gradient_is_the_heads():
    """∂L/∂h_T of the top layer = (sigmoid(logit) - y) w_head; c_T feeds nothing later: 0."""
    stream_model = model("eegseq", "semeniuta")
    signal, reset, keys, state = second_window(stream_model, True)
    labels = np.array([1.0, 0.0])
    probed = StateProbe(stream_model)(signal, reset, keys, state, labels=labels, training=True)
    head = stream_model.model.get_layer("head").get_weights()[0][:, 0]
    expected = (tf.sigmoid(probed.logits).numpy() - labels)[:, None] * head[None]
    np.testing.assert_allclose(probed.gradients["rnn_1__h"][:, -1], expected, rtol=1e-4, atol=1e-7)
    assert not probed.gradients["rnn_1__c"][:, -1].any()
    assert np.abs(probed.gradients["rnn_0__c"][:, 0]).sum() > 0  # the first step's state matters
