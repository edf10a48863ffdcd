"""The ``tf_keras_builtin`` variant: the stock layer inside the same stream model."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from small_models import small_config

from eegseq.models import ModelConfig, StockStreamRNN, StreamModel, predict_recording
from eegseq.rnn.diagnostics import stock_mask_changes


def config(
    implementation: str, cell: str = "lstm", preset: str = "none", rate=None, seed: int = 7, chrono: int | None = None
) -> ModelConfig:
    dropout = {"preset": preset, "rate": rate}
    model = small_config(implementation, cell=cell, dropout=dropout, between_dropout=0.0, seed=seed)
    return model.model_copy(update={"rnn": model.rnn.model_copy(update={"chrono_max_steps": chrono})})


def weights_by_layer(model: StreamModel) -> dict[str, list[np.ndarray]]:
    return {layer.name: layer.get_weights() for layer in model.model.layers if layer.get_weights()}


@pytest.mark.parametrize("chrono", [None, 50], ids=["keras_bias", "chrono_bias"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_same_seed_gives_the_same_initial_weights(cell, chrono):
    keras.utils.set_random_seed(0)
    ours = weights_by_layer(StreamModel.build(config("eegseq", cell, "semeniuta", 0.25, chrono=chrono)))
    keras.utils.set_random_seed(0)
    stock = weights_by_layer(StreamModel.build(config("tf_keras_builtin", cell, "semeniuta", 0.25, chrono=chrono)))
    assert sorted(ours) == sorted(stock) == ["conv_0", "conv_1", "head", "rnn_0", "rnn_1"]
    for name in ours:
        for a, b in zip(ours[name], stock[name], strict=True):
            np.testing.assert_array_equal(a, b)
    bias = ours["rnn_0"][2]
    if chrono is None and cell == "lstm":
        np.testing.assert_array_equal(np.split(bias, 4)[1], 1.0)  # Keras' unit forget bias
    elif chrono is not None:
        memory_gate = np.split(bias, 4)[1] if cell == "lstm" else bias[0, :5]
        assert np.all(memory_gate >= 0) and np.all(memory_gate <= np.log(chrono - 1)) and np.ptp(memory_gate) > 0
    keras.utils.set_random_seed(0)
    other_seed = weights_by_layer(StreamModel.build(config("tf_keras_builtin", cell, "semeniuta", 0.25, seed=8)))
    assert not np.array_equal(other_seed["rnn_0"][0], stock["rnn_0"][0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_without_dropout_the_stock_model_streams_like_ours(cell):
    """With the same weights and no dropout, the stock layer is the reference our cells reproduce."""
    ours = StreamModel.build(config("eegseq", cell))
    stock = StreamModel.build(config("tf_keras_builtin", cell))
    stock.model.set_weights(ours.model.get_weights())
    signal = np.random.default_rng(0).standard_normal((96, 3)).astype(np.float32)
    np.testing.assert_allclose(predict_recording(stock, signal, 24), predict_recording(ours, signal, 24), atol=1e-5)
    # reset zeroes a lane's carried state: a fresh recording equals a fresh start
    padded = np.concatenate([np.zeros((1, stock.context, 3), np.float32), signal[None, :24]], 1)
    used = {name: tf.ones_like(value) for name, value in stock.initial_state(1).items()}
    reset, keys = np.ones(1, np.float32), np.zeros(1, np.int64)
    after_reset = stock(padded, reset, keys, used)[0].numpy()
    fresh = stock(padded, reset, keys, stock.initial_state(1))[0].numpy()
    np.testing.assert_array_equal(after_reset, fresh)


@pytest.mark.parametrize("implementation", ["tf_keras_builtin", "eegseq"])
def test_a_chrono_model_reloads_with_its_initializer(tmp_path, implementation):
    model = StreamModel.build(config(implementation, "lstm", "keras", 0.3, chrono=50))
    model.model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    rebuilt = keras.Model.from_config(loaded.get_config())  # fresh weights from the saved initializers
    for a, b in zip(rebuilt.get_weights(), model.model.get_weights(), strict=True):
        if a.ndim == 1 and a.shape[0] == 20:  # the LSTM biases (4 x 5 units): seeded chrono draws
            np.testing.assert_array_equal(a, b)


def test_stock_layer_keeps_its_recurrent_dropout_and_reloads(tmp_path):
    model = StreamModel.build(config("tf_keras_builtin", "lstm", "keras", 0.3))
    layers = [layer for layer in model.model.layers if isinstance(layer, StockStreamRNN)]
    assert [layer.rnn.recurrent_dropout for layer in layers] == [0.3, 0.3]
    assert model.state_names == ["rnn_0__h", "rnn_0__c", "rnn_1__h", "rnn_1__c"]
    model.model.save(tmp_path / "model.keras")
    loaded = StreamModel(keras.models.load_model(tmp_path / "model.keras"))
    assert loaded.state_names == model.state_names
    for a, b in zip(loaded.model.get_weights(), model.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stock_masks_repeat_for_a_seed_and_keep_the_stock_schedule(cell):
    """Seeded: the same masks whatever ran before in the process; still a new mask every step when
    compiled and one per call eagerly (measured on a probe with the layer's own generator)."""
    signal = np.random.default_rng(0).standard_normal((2, 6 + 60, 3)).astype(np.float32)

    def compiled_training_output():
        keras.utils.set_random_seed(0)
        model = StreamModel.build(config("tf_keras_builtin", cell, "keras", 0.5))
        run = tf.function(
            lambda s: model(s, np.ones(2, np.float32), np.zeros(2, np.int64), model.initial_state(2), True)
        )
        return run(signal)[1].numpy()

    first = compiled_training_output()
    keras.layers.Dropout(0.5)(tf.ones((4, 4)), training=True)  # other random work in between
    np.testing.assert_array_equal(compiled_training_output(), first)
    layer = StreamModel.build(config("tf_keras_builtin", cell, "keras", 0.5)).rnn_layers[0]
    measured = stock_mask_changes(layer.mask_probe())
    assert measured["compiled"]["changes"] == "timestep" and measured["eager"]["changes"] == "window"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_checkpoint_holds_the_stock_mask_generator_so_a_restored_model_draws_the_next_masks(cell, tmp_path):
    """Keras keeps a cell's generator out of checkpoints; a resumed run would replay the masks from
    the seed. Restored into a fresh model (a new process), the next compiled training call must
    draw what the original's next call draws (recurrent and input masks)."""
    signal = np.random.default_rng(0).standard_normal((2, 6 + 30, 3)).astype(np.float32)
    dropout = {"preset": "keras", "rate": 0.25, "input_rate": 0.25}
    settings = small_config("tf_keras_builtin", cell=cell, dropout=dropout, between_dropout=0.0, seed=7)

    def compiled_training_call(model):
        return tf.function(
            lambda s: model(s, np.ones(2, np.float32), np.zeros(2, np.int64), model.initial_state(2), True)[1]
        )

    original = StreamModel.build(settings)
    original_call = compiled_training_call(original)
    original_call(signal)
    path = tf.train.Checkpoint(model=original.model).write(str(tmp_path / "checkpoint"))
    expected = original_call(signal).numpy()
    restored = StreamModel.build(settings)
    tf.train.Checkpoint(model=restored.model).read(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(compiled_training_call(restored)(signal), expected)
    fresh = compiled_training_call(StreamModel.build(settings))(signal).numpy()
    assert not np.array_equal(fresh, expected)  # the masks of a second call differ from a first call's
