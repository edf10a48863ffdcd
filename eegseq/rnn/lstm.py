"""The LSTM cell with pluggable recurrent dropout: every LSTM equation of ``docs/recurrent-dropout.md``.

Weights follow ``tf_keras.layers.LSTM``: ``kernel (input_dim, 4u)``, ``recurrent_kernel (u, 4u)``,
``bias (4u,)``, gate blocks in order i, f, g (cell candidate), o; activations sigmoid and tanh.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from eegseq.rnn.cell_base import DropoutCellBase


def _unit_forget_bias(units: int, base):
    """Keras' ``unit_forget_bias=True``: the forget-gate block of the bias starts at 1."""

    def initializer(shape, dtype=None, **kwargs):
        return tf.concat(
            [base((units,), dtype=dtype), tf.ones((units,), dtype=dtype), base((2 * units,), dtype=dtype)], 0
        )

    return initializer


@keras.utils.register_keras_serializable(package="eegseq")
class DropoutLSTMCell(DropoutCellBase):
    """LSTM cell whose recurrent dropout scheme, scope and scaling are options.

    States (Keras' own): ``[h, c]``, each ``(batch, units)``. See :class:`DropoutCellBase` for the
    arguments. Equations, with the recurrent term ``a_k = (h_{t-1} ⊙ m_k) U_k`` and
    ``z_k = x_t W_k + b_k + a_k``::

        i, f, o = σ(z_i), σ(z_f), σ(z_o);   g = tanh(z_g)
        semeniuta:  c̃ = f ⊙ c_{t-1} + i ⊙ (g ⊙ m)          else  c̃ = f ⊙ c_{t-1} + i ⊙ g
        moon:       c̃ ← m ⊙ c̃
        h̃ = o ⊙ tanh(c̃)
        zoneout:    c_t = d_c ⊙ c_{t-1} + (1 - d_c) ⊙ c̃,  h_t = d_h ⊙ h_{t-1} + (1 - d_h) ⊙ h̃
    """

    gates = 4
    has_cell_state = True
    term_gradient_is_input_gradient = True  # z = x W + b + a: see advance

    def __init__(self, units: int, dropout=None, *, unit_forget_bias: bool = True, **kwargs):
        """``unit_forget_bias``: as in Keras, start the forget-gate bias at 1 (added to
        ``bias_initializer``'s); False leaves the bias to ``bias_initializer`` alone (e.g.
        :class:`~eegseq.rnn.chrono.ChronoBias`)."""
        super().__init__(units, dropout, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    @property
    def output_size(self):
        return self.units

    @property
    def bias_shape(self):
        return (4 * self.units,)

    def bias_initializer_for_layout(self):
        return _unit_forget_bias(self.units, self.bias_initializer) if self.unit_forget_bias else self.bias_initializer

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}

    def input_bias(self):
        return self.bias

    def advance(self, projected_inputs, recurrent, states, masks):
        h_prev, c_prev = states
        z = projected_inputs + recurrent
        z_i, z_f, z_g, z_o = self.split_gates(z)
        g = tf.tanh(z_g)
        if "update" in masks:
            g = g * masks["update"]
        c = tf.sigmoid(z_f) * c_prev + tf.sigmoid(z_i) * g
        if "memory" in masks:
            c = c * masks["memory"]
        h = tf.sigmoid(z_o) * tf.tanh(c)
        if "zoneout_c" in masks:
            c = c + masks["zoneout_c"] * (c_prev - c)  # = d ⊙ c_prev + (1 - d) ⊙ c̃
        if "zoneout_h" in masks:
            h = h + masks["zoneout_h"] * (h_prev - h)
        return h, c
