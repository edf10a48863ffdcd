"""The stock ``tf_keras`` LSTM / GRU as a stream layer: the ``tf_keras_builtin`` baseline variant.

It exists to compare eegseq's dropout schemes against what users run today: the stock layer with
``recurrent_dropout``, its masks drawn however the stock layer draws them (see
``eegseq.rnn.diagnostics.stock_mask_changes``), inside the same model, trained by the same compiled
step, its state carried across windows by the same explicit state passing as
:class:`~eegseq.rnn.StreamRNN` (``h`` and ``c`` only: the stock layer carries no masks).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

STOCK_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@keras.utils.register_keras_serializable(package="eegseq")
class StockStreamRNN(keras.layers.Layer):
    """``tf_keras.layers.LSTM`` / ``GRU`` with a lane reset, called like :class:`~eegseq.rnn.StreamRNN`.

    Args:
        cell: ``"lstm"`` or ``"gru"`` (``reset_after=True``, Keras' default).
        units: hidden size.
        recurrent_dropout: the stock layer's ``recurrent_dropout``.
        dropout: the stock layer's input ``dropout``.
        return_sequences: return ``(batch, steps, units)`` instead of the last output.
        seed: the seed of the stock cell's dropout generator. Without one, the stock layer's masks
            depend on what the process ran before (measured: a second identical run in one process
            differs from the first), so runs would not repeat; with one, the cell still draws its
            masks with the stock (stateful) random ops, as often as the stock layer does, and the
            generator's state is part of the model's checkpoint (``mask_generator``), so a resumed
            run draws the masks the uninterrupted run draws.
        kernel_initializer, recurrent_initializer, bias_initializer, unit_forget_bias (LSTM only): as
            in Keras (the model passes seeded ones).

    Call args: ``inputs (batch, steps, features)``, ``reset (batch,)`` (1 zeroes a lane's state first),
    ``lane_keys`` (ignored: the stock masks are not keyed), ``initial_state`` (``[h, c]`` / ``[h]``),
    ``training``. Returns ``[output, *new_states]``.
    """

    def __init__(
        self,
        cell: str,
        units: int,
        recurrent_dropout: float = 0.0,
        dropout: float = 0.0,
        return_sequences: bool = False,
        seed: int | None = None,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell not in STOCK_LAYERS:
            raise ValueError(f"cell={cell!r} is not valid; expected one of {sorted(STOCK_LAYERS)}")
        self.cell_name, self.units = cell, int(units)
        self.recurrent_dropout, self.dropout = float(recurrent_dropout), float(dropout)
        self.return_sequences, self.seed = return_sequences, seed
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        if cell != "lstm" and not self.unit_forget_bias:
            raise ValueError(f"unit_forget_bias=False is only valid with cell='lstm', not {cell!r}")
        self.rnn = STOCK_LAYERS[cell](
            self.units,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            return_sequences=return_sequences,
            return_state=True,
            kernel_initializer=self.kernel_initializer,
            recurrent_initializer=self.recurrent_initializer,
            bias_initializer=self.bias_initializer,
            **({"unit_forget_bias": self.unit_forget_bias} if cell == "lstm" else {}),
            name=cell,
        )
        if seed is not None:
            # The stock layer offers no seed argument; its cell's generator is where Keras keeps one.
            generator = type(self.rnn.cell._random_generator)  # Keras' RandomGenerator (not exported)
            self.rnn.cell._random_generator = generator(seed, rng_type="stateful")
            # Keras keeps a cell's generator out of checkpoints (BaseRandomLayer), so a resumed run would
            # draw its masks from the seed again; held here, its state (a variable) is saved and restored
            # with the model's checkpoint. It is no weight: model.weights and model.keras are unchanged.
            self.mask_generator = self.rnn.cell._random_generator

    def mask_probe(self, pairs: int = 8) -> keras.layers.Layer:
        """A fresh stock layer with this layer's recurrent dropout and mask generator, ``2 * pairs``
        units, no input dropout, returning sequences: what
        :func:`eegseq.rnn.diagnostics.stock_mask_changes` measures."""
        copy = StockStreamRNN(
            self.cell_name, 2 * pairs, self.recurrent_dropout, return_sequences=True, seed=self.seed, name="mask_probe"
        )
        return copy.rnn

    @property
    def state_names(self) -> list[str]:
        return ["h", "c"] if self.cell_name == "lstm" else ["h"]

    def get_initial_state(self, batch_size) -> list[tf.Tensor]:
        return [tf.zeros((batch_size, self.units)) for _ in self.state_names]

    def build(self, input_shape):
        self.rnn.build(tf.TensorShape(input_shape))
        self.built = True

    def call(self, inputs, reset=None, lane_keys=None, initial_state=None, training=None):
        batch = tf.shape(inputs)[0]
        states = self.get_initial_state(batch) if initial_state is None else list(initial_state)
        if reset is not None:
            keep = 1.0 - tf.cast(tf.reshape(reset, (-1, 1)), tf.float32)
            states = [state * keep for state in states]
        return list(self.rnn(inputs, initial_state=states, training=training))

    def get_config(self):
        config = super().get_config()
        config.update(
            cell=self.cell_name,
            units=self.units,
            recurrent_dropout=self.recurrent_dropout,
            dropout=self.dropout,
            return_sequences=self.return_sequences,
            seed=self.seed,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            unit_forget_bias=self.unit_forget_bias,
        )
        return config
