"""Keras-native: serialisation, .keras files, tf.function / model.fit, tf.distribute."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from eegseq.rnn import DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN, sample_masks

HERE = Path(__file__).parent


def _model(Cell, preset):
    inputs = keras.Input((None, 3))
    reset = keras.Input((), dtype="float32")
    keys = keras.Input((), dtype="int64")
    x = StreamRNN(Cell(6, DropoutSpec.create(preset, rate=0.3, input_rate=0.1)), return_sequences=True, seed=1)(
        inputs, reset=reset, lane_keys=keys
    )
    x = StreamRNN(Cell(4, DropoutSpec.create(preset, rate=0.3)), seed=2)(x, reset=reset, lane_keys=keys)
    return keras.Model([inputs, reset, keys], keras.layers.Dense(1)(x))


@pytest.mark.parametrize(
    "Cell, preset", [(DropoutLSTMCell, "zoneout"), (DropoutGRUCell, "semeniuta_seq"), (DropoutLSTMCell, "weight_drop")]
)
def test_keras_file_reloads_in_a_fresh_process_and_predicts_identically(tmp_path, Cell, preset):
    model = _model(Cell, preset)
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((2, 7, 3)).astype(np.float32), np.zeros(2, np.float32), np.array([4, 5])]
    np.save(tmp_path / "x.npy", data[0])
    np.save(tmp_path / "expected.npy", model.predict(data, verbose=0))
    model.save(tmp_path / "model.keras")
    script = (
        "import sys, numpy as np, tf_keras as keras\n"
        "from eegseq.rnn import StreamRNN  # registers eegseq's layers\n"
        "d = sys.argv[1]\n"
        "m = keras.models.load_model(d + '/model.keras')\n"
        "y = m.predict([np.load(d + '/x.npy'), np.zeros(2, np.float32), np.array([4, 5])], verbose=0)\n"
        "print(float(np.abs(y - np.load(d + '/expected.npy')).max()), m.layers[3].cell.spec.scheme)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    diff, scheme = result.stdout.split()[-2:]
    assert float(diff) == 0.0
    assert scheme == model.layers[3].cell.spec.scheme


def test_config_round_trip_keeps_the_resolved_spec():
    layer = StreamRNN(
        DropoutGRUCell(5, DropoutSpec.create("gal_tied", rate=0.2, input_rate=0.1)),
        return_sequences=True,
        seed=9,
        memory="recompute",
    )
    clone = StreamRNN.from_config(layer.get_config())
    assert clone.cell.spec == layer.cell.spec
    assert (clone.seed, clone.return_sequences, clone.memory) == (9, True, "recompute")


def test_model_fit_trains_with_recording_masks():
    model = _model(DropoutLSTMCell, "gal")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 10, 3)).astype(np.float32)
    y = x[:, :, :1].sum(1)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit([x, np.ones(8, np.float32), np.arange(8)], y, batch_size=4, epochs=8, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(np.abs(a - b.numpy()).max() > 0 for a, b in zip(before, model.trainable_weights))


def test_inside_tf_function_the_layer_uses_the_documented_window_masks():
    """The stock layer inside tf.function draws a new recurrent mask at every step; ours, traced
    the same way, uses exactly the one window mask that ``sample_masks`` gives (replayed eagerly)."""
    layer = StreamRNN(DropoutLSTMCell(8, DropoutSpec.create("keras", rate=0.5)), return_sequences=True)
    x = tf.ones((2, 6, 2))
    initial = [tf.ones((2, 8)), tf.zeros((2, 8))]  # h_0 = 1: the recurrent mask shows from step 1
    traced = tf.function(lambda x: layer(x, initial_state=initial, training=True))(x)
    replayed = layer(x, initial_state=initial, training=True, masks=sample_masks(layer.cell, 2, 6))
    np.testing.assert_allclose(traced.numpy(), replayed.numpy(), atol=1e-6)
    no_dropout = layer(x, initial_state=initial, training=False)
    assert np.abs(traced.numpy() - no_dropout.numpy()).max() > 1e-3  # the mask did act


def test_mirrored_strategy_with_explicit_state_passing_matches_one_device():
    result = subprocess.run(
        [sys.executable, str(HERE / "distributed_check.py")], capture_output=True, text=True, timeout=400
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["change"] > 1e-3  # training moved the weights
    assert report["max_diff"] <= 1e-5
