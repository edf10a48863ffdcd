"""With dropout off, StreamRNN and the cells reproduce tf_keras.layers.LSTM / GRU exactly."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from comparison import assert_close_at_scale

from eegseq.rnn import DropoutGRUCell, DropoutLSTMCell, StreamRNN

CELLS = {"lstm": (DropoutLSTMCell, keras.layers.LSTM), "gru": (DropoutGRUCell, keras.layers.GRU)}
ENGINES = {
    "fused": dict(use_fused=True, jit_compile=True),
    "xla": dict(use_fused=False, jit_compile=True),
    "loop": dict(use_fused=False, jit_compile=False),
}


def _perturbed_weights(layer, rng):
    # Non-zero biases so that a bias in the wrong place shows.
    return [w + rng.normal(0, 0.2, w.shape).astype(np.float32) for w in layer.get_weights()]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (4, 9, 3, 5), (2, 33, 7, 16)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
def test_outputs_states_and_gradients_equal_stock(engine, kind, shape, return_sequences):
    batch, steps, features, units = shape
    rng = np.random.default_rng(batch * 1000 + steps)
    Cell, Stock = CELLS[kind]
    x = tf.constant(rng.standard_normal((batch, steps, features)), tf.float32)
    initial = [tf.constant(rng.standard_normal((batch, units)), tf.float32) for _ in range(2 if kind == "lstm" else 1)]

    ours = StreamRNN(Cell(units), return_sequences=return_sequences, return_state=True, **ENGINES[engine])
    stock = Stock(units, return_sequences=return_sequences, return_state=True)
    ours(x)
    stock(x)
    weights = _perturbed_weights(stock, rng)
    ours.set_weights(weights)
    stock.set_weights(weights)

    def forward(layer, **kwargs):
        with tf.GradientTape() as tape:
            tape.watch([x, *initial])
            result = layer(x, initial_state=initial, **kwargs)
            # A loss touching outputs and every final state.
            loss = sum(tf.reduce_sum(tf.sin(r) * (i + 1)) for i, r in enumerate(result[: len(initial) + 1]))
        grads = tape.gradient(loss, [x, *initial, *layer.trainable_weights])
        return result, grads

    (ours_result, ours_grads), (stock_result, stock_grads) = forward(ours, training=True), forward(stock, training=True)
    for mine, theirs in zip(ours_result[: len(initial) + 1], stock_result):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-5, rtol=1e-5)
    for mine, theirs in zip(ours_grads, stock_grads):
        assert_close_at_scale(mine.numpy(), theirs.numpy())


@pytest.mark.parametrize("kind", CELLS)
def test_cells_inside_plain_keras_rnn_equal_stock(kind):
    rng = np.random.default_rng(7)
    Cell, Stock = CELLS[kind]
    x = rng.standard_normal((3, 11, 4)).astype(np.float32)
    plain = keras.layers.RNN(Cell(6), return_sequences=True, return_state=True)
    stock = Stock(6, return_sequences=True, return_state=True)
    plain(x)
    stock(x)
    weights = _perturbed_weights(stock, rng)
    plain.set_weights(weights)
    stock.set_weights(weights)
    for mine, theirs in zip(plain(x), stock(x)):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-6)
    assert len(plain.cell.state_size) == (2 if kind == "lstm" else 1)  # Keras' own states


def test_weights_move_both_ways_with_keras_names():
    stock = keras.layers.LSTM(4)
    stock(np.zeros((1, 2, 3), np.float32))
    ours = StreamRNN(DropoutLSTMCell(4))
    ours(np.zeros((1, 2, 3), np.float32))
    assert [w.name.split("/")[-1].split(":")[0] for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in ours.weights] == [w.shape for w in stock.weights]
    gru = StreamRNN(DropoutGRUCell(4))
    gru(np.zeros((1, 2, 3), np.float32))
    stock_gru = keras.layers.GRU(4)
    stock_gru(np.zeros((1, 2, 3), np.float32))
    assert [w.shape for w in gru.weights] == [w.shape for w in stock_gru.weights]
    # Keras' unit_forget_bias: the forget block starts at 1.
    np.testing.assert_array_equal(ours.cell.bias.numpy()[4:8], np.ones(4))
