"""Chrono initialisation: gate biases that make a fresh LSTM or GRU remember for up to ``max_steps``.

With Keras' default biases an LSTM's forget gate starts near σ(1) ≈ 0.73, so what it stores fades
within a few steps; learning to keep something for thousands of steps then needs gradients through
those thousands of steps, which vanish on the way. Tallec & Ollivier ("Can recurrent neural
networks warp time?", ICLR 2018) set the biases so that the gates' time constants start spread
over ``[1, max_steps]``:

* LSTM (gate blocks i, f, g, o): ``b_f = log(u)``, ``b_i = -b_f``, ``u ~ U(1, max_steps - 1)`` per unit;
* GRU (Keras' ``h_t = z ⊙ h_{t-1} + (1 - z) ⊙ ĥ``, gate blocks z, r, h): ``b_z = log(u)`` in the
  input-bias row (``reset_after=True``, bias ``(2, 3u)``).

Every other bias is 0. The same initializer serves eegseq's cells and the stock tf-keras layers
(whose bias layouts are the same), so a comparison starts every implementation from the same biases.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="eegseq")
class ChronoBias(keras.initializers.Initializer):
    """The chrono bias of an LSTM (shape ``(4u,)``) or a ``reset_after`` GRU (shape ``(2, 3u)``).

    Args:
        cell: ``"lstm"`` or ``"gru"``: the bias layout.
        max_steps: the longest time constant, in steps (≥ 3); e.g. the steps between a cue and
            the latest step that needs it.
        seed: seed of the per-unit draw (the same seed gives the same biases).
    """

    def __init__(self, cell: Literal["lstm", "gru"], max_steps: int, seed: int | None = None):
        if cell not in ("lstm", "gru"):
            raise ValueError(f"ChronoBias: cell={cell!r} is not valid; expected 'lstm' or 'gru'")
        if int(max_steps) < 3:
            raise ValueError(f"ChronoBias: max_steps={max_steps!r} is not valid; expected an integer >= 3")
        self.cell, self.max_steps, self.seed = cell, int(max_steps), seed

    def __call__(self, shape, dtype=None, **kwargs):
        shape = tuple(int(d) for d in shape)
        gates, expected = (4, "(4 * units,)") if self.cell == "lstm" else (3, "(2, 3 * units)")
        if (self.cell == "lstm" and len(shape) != 1) or (self.cell == "gru" and (len(shape) != 2 or shape[0] != 2)):
            raise ValueError(f"ChronoBias({self.cell!r}): bias shape {shape} is not {expected}")
        units = shape[-1] // gates
        log_tau = np.log(np.random.default_rng(self.seed).uniform(1.0, self.max_steps - 1.0, units))
        bias = np.zeros(shape, dtype=np.float64)
        if self.cell == "lstm":
            bias[:units], bias[units : 2 * units] = -log_tau, log_tau  # input gate, forget gate
        else:
            bias[0, :units] = log_tau  # update gate z (input-bias row)
        return tf.constant(bias, dtype=dtype or tf.float32)

    def get_config(self):
        return {"cell": self.cell, "max_steps": self.max_steps, "seed": self.seed}
