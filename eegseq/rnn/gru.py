"""The GRU cell with pluggable recurrent dropout: every GRU equation of ``docs/recurrent-dropout.md``.

Weights follow ``tf_keras.layers.GRU(reset_after=True)``: ``kernel (input_dim, 3u)``,
``recurrent_kernel (u, 3u)``, ``bias (2, 3u)`` (row 0 input bias, row 1 recurrent bias), gate
blocks in order z, r, h; activations sigmoid and tanh.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from eegseq.rnn.cell_base import DropoutCellBase


@keras.utils.register_keras_serializable(package="eegseq")
class DropoutGRUCell(DropoutCellBase):
    """GRU cell (``reset_after=True``) whose recurrent dropout scheme, scope and scaling are options.

    States (Keras' own): ``[h]``, ``(batch, units)``. See :class:`DropoutCellBase` for the arguments.
    Equations, with ``a_k = (h_{t-1} ⊙ m_k) U_k + b_hk`` (Gal's mask only inside the products)::

        z = σ(x W_z + b_xz + a_z);  r = σ(x W_r + b_xr + a_r);  ĥ = tanh(x W_h + b_xh + r ⊙ a_h)
        semeniuta:  ĥ ← ĥ ⊙ m
        h̃ = z ⊙ h_{t-1} + (1 - z) ⊙ ĥ                      (the carry uses the unmasked h_{t-1})
        moon:       h̃ ← m ⊙ h̃
        zoneout:    h_t = d_h ⊙ h_{t-1} + (1 - d_h) ⊙ h̃
    """

    gates = 3

    @property
    def state_size(self):
        return [self.units]

    @property
    def output_size(self):
        return self.units

    @property
    def bias_shape(self):
        return (2, 3 * self.units)

    def input_bias(self):
        return self.bias[0]

    def recurrent_bias(self):
        return self.bias[1]

    def advance(self, projected_inputs, recurrent, states, masks):
        (h_prev,) = states
        x_z, x_r, x_h = self.split_gates(projected_inputs)
        a_z, a_r, a_h = self.split_gates(recurrent)
        z = tf.sigmoid(x_z + a_z)
        r = tf.sigmoid(x_r + a_r)
        candidate = tf.tanh(x_h + r * a_h)
        if "update" in masks:
            candidate = candidate * masks["update"]
        h = z * h_prev + (1.0 - z) * candidate
        if "memory" in masks:
            h = h * masks["memory"]
        if "zoneout_h" in masks:
            h = h + masks["zoneout_h"] * (h_prev - h)
        return (h,)
