"""What the LSTM and GRU dropout cells share: options, weights' projection, masks and the Keras cell API.

The step equations live in the subclasses (``lstm.py``, ``gru.py``); which masks exist, their keys,
lifetimes and draws live in :mod:`eegseq.rnn.masks`. Inside a plain ``tf_keras.layers.RNN`` a cell
has no lanes, no reset and no notion of a window, so there it can only honour ``step`` scope (a fresh
mask at every timestep, see :func:`~eegseq.rnn.masks.sample_step_masks`), or run without masks.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from eegseq.rnn.masks import MaskSlot, inference_masks, sample_step_masks, scheme_slots
from eegseq.rnn.spec import DropoutSpec


def _gates_to_front(tensor: tf.Tensor) -> tf.Tensor:
    """``(..., batch, G, u)`` -> ``(..., G, batch, u)``."""
    rank = tensor.shape.rank
    return tf.transpose(tensor, list(range(rank - 3)) + [rank - 2, rank - 3, rank - 1])


class DropoutCellBase(keras.layers.Layer):
    """Base of the recurrent-dropout cells.

    Args:
        units: hidden size ``u``.
        dropout: the recurrent-dropout setting (default: none), e.g.
            ``DropoutSpec.create("semeniuta", rate=0.25)``.
        kernel_initializer, recurrent_initializer, bias_initializer: as in Keras.
    """

    gates: int  # number of gate blocks in the weight layout (LSTM 4, GRU 3)

    def __init__(
        self,
        units: int,
        dropout: DropoutSpec | None = None,
        *,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"units={units!r} is not valid; expected a positive integer")
        if dropout is not None and not isinstance(dropout, DropoutSpec):
            raise TypeError(
                f"dropout={dropout!r} is not valid; expected an eegseq.rnn.DropoutSpec, "
                "e.g. DropoutSpec.create('gal', rate=0.25)"
            )
        self.units = int(units)
        self.spec = DropoutSpec() if dropout is None else dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_dim: int | None = None

    # ---- weights -------------------------------------------------------------------------------
    def build(self, input_shape):
        self.input_dim = int(input_shape[-1])
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(self.input_dim, width), name="kernel", initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), name="recurrent_kernel", initializer=self.recurrent_initializer
        )
        self.bias = self.add_weight(shape=self.bias_shape, name="bias", initializer=self.bias_initializer_for_layout())
        self.built = True

    @property
    def bias_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def bias_initializer_for_layout(self):
        return self.bias_initializer

    def input_bias(self) -> tf.Tensor:
        """The bias added to the input projection, ``(gates * units,)``."""
        raise NotImplementedError

    def project_inputs(self, inputs: tf.Tensor, input_mask=None) -> tf.Tensor:
        """``(x ⊙ m_x) W + b_x`` for inputs ``(..., input_dim)`` -> ``(..., gates * units)``.

        One matmul for a whole window: the input half of every gate is computed outside the loop.
        ``input_mask`` must broadcast against ``inputs`` (a scalar at inference).
        """
        if input_mask is not None:
            inputs = inputs * input_mask
        return tf.tensordot(inputs, self.kernel, axes=1) + self.input_bias()

    def recurrent_bias(self) -> tf.Tensor | None:
        """The bias inside the recurrent product (GRU ``b_h``), or None (LSTM)."""
        return None

    def gate_major(self, masks: dict) -> bool:
        """Whether an untied Gal mask acts, so the recurrent product works per gate block (:meth:`recurrent_term`)."""
        mask = masks.get("recurrent")
        return mask is not None and not self.spec.tied and tf.convert_to_tensor(mask).shape.rank >= 3

    def prepare_loop(self, masks: dict) -> tuple[dict, tuple]:
        """Arrange a window's masks and weights for the loop, once per window.

        ``U ⊙ M`` under weight drop. Under an untied Gal mask the recurrent product works per gate
        block: the mask moves to gate-major layout (``(..., batch, G, u)`` -> ``(..., G, batch, u)``) and
        the kernel to ``(G, u, u)`` (see :meth:`recurrent_term`). Returns ``(loop masks, weights)``
        where weights is ``(kernel,)`` or ``(kernel, recurrent_bias)``.
        """
        kernel = tf.convert_to_tensor(self.recurrent_kernel)
        if "weight" in masks:
            kernel = kernel * masks["weight"]
        bias = self.recurrent_bias()
        loop_masks = {name: mask for name, mask in masks.items() if name not in ("input", "weight")}
        if self.gate_major(masks):
            u, gates = self.units, self.gates
            kernel = tf.transpose(tf.reshape(kernel, (u, gates, u)), (1, 0, 2))
            loop_masks["recurrent"] = _gates_to_front(tf.convert_to_tensor(loop_masks["recurrent"]))
        return loop_masks, (kernel,) if bias is None else (kernel, bias)

    def split_gates(self, z: tf.Tensor) -> list[tf.Tensor]:
        """The gate blocks of ``z``: ``(batch, G*u)`` -> G tensors ``(batch, u)``."""
        return tf.split(z, self.gates, axis=-1)

    # ---- masks ---------------------------------------------------------------------------------
    @property
    def mask_slots(self) -> tuple[MaskSlot, ...]:
        """The masks this cell's spec uses (see :mod:`eegseq.rnn.masks`). Needs a built cell."""
        if self.input_dim is None:
            raise ValueError(f"{type(self).__name__} must be built (know its input size) before its masks exist")
        return scheme_slots(
            self.spec,
            input_dim=self.input_dim,
            units=self.units,
            gates=self.gates,
            has_cell_state=self.has_cell_state,
        )

    has_cell_state = False
    # True where a step uses its recurrent term only inside ``projected + term`` (LSTM), so the two
    # have one gradient and the XLA loop's backward keeps one ``(steps, batch, G*u)`` array, not two.
    term_gradient_is_input_gradient = False

    # ---- the recurrence ------------------------------------------------------------------------
    def recurrent_term(self, h: tf.Tensor, recurrent_mask, weights: tuple) -> tf.Tensor:
        """``a = (h ⊙ m) U (+ b_h)``, ``(batch, G*u)``: the only place a step touches the recurrent weights.

        Gal's mask ``m`` is None, a scalar (inference) or ``(batch, units)`` (tied) with ``weights[0]``
        ``(units, G*u)``; or gate-major ``(G, batch, units)`` (untied, one mask per gate block) with
        ``weights[0]`` ``(G, units, units)`` from :meth:`prepare_loop`: one batched product, whose
        ``(G, batch, units)`` result goes back to ``(batch, G*u)`` (a step-sized transpose, where a
        gate-major term would make the window-sized weight gradient transpose instead).
        ``weights[1]``, when present, is the GRU's recurrent bias ``b_h`` ``(G*u,)``.
        """
        kernel = weights[0]
        if recurrent_mask is not None:
            h = h * recurrent_mask if kernel.shape.rank == 2 else h[None] * recurrent_mask
        term = tf.matmul(h, kernel)
        if kernel.shape.rank == 3:
            term = tf.reshape(tf.transpose(term, (1, 0, 2)), (-1, self.gates * self.units))
        return term if len(weights) == 1 else term + weights[1]

    def recurrent_weight_gradients(self, h_prev_seq, recurrent_mask, d_term_seq, weights: tuple) -> tuple:
        """The gradient of :meth:`recurrent_term` with respect to ``weights``, summed over a window.

        One matrix product over all ``steps × batch`` rows instead of a small one per step.

        Args:
            h_prev_seq: ``(steps, batch, units)``, the ``h_{t-1}`` of every step.
            recurrent_mask: as in :meth:`recurrent_term`, or per step with a leading ``steps`` axis.
            d_term_seq: ``(steps, batch, G*u)``, the gradient with respect to every step's term.
            weights: the loop weights, whose shapes the gradients take.
        """
        if weights[0].shape.rank == 2:
            masked = h_prev_seq if recurrent_mask is None else h_prev_seq * recurrent_mask
            d_kernel = tf.einsum("tbi,tbj->ij", masked, d_term_seq)
        elif recurrent_mask.shape.rank == 3:
            # A mask constant over the window (G, batch, units): per lane, one (u, steps) x (steps, G*u)
            # product of h and the term gradient, masked by the lane's gate masks, summed over lanes.
            # A loop over lanes: one batched product would copy the window into lane-major layout.
            u, gates = self.units, self.gates

            def add_lane(lane, total):
                outer = tf.matmul(
                    tf.gather(h_prev_seq, lane, axis=1), tf.gather(d_term_seq, lane, axis=1), transpose_a=True
                )
                lane_mask = tf.transpose(tf.gather(recurrent_mask, lane, axis=1))  # (u, G)
                return lane + 1, total + tf.reshape(outer, (u, gates, u)) * lane_mask[:, :, None]

            _, total = tf.while_loop(
                lambda lane, _: lane < tf.shape(h_prev_seq)[1], add_lane, (0, tf.zeros((u, gates, u), d_term_seq.dtype))
            )
            d_kernel = tf.transpose(total, (1, 0, 2))
        else:  # a mask per step (steps, G, batch, units)
            d_gates = tf.reshape(d_term_seq, tf.concat([tf.shape(d_term_seq)[:2], [self.gates, self.units]], 0))
            d_kernel = tf.einsum("tgbi,tbgj->gij", h_prev_seq[:, None] * recurrent_mask, d_gates)
        if len(weights) == 1:
            return (d_kernel,)
        return d_kernel, tf.reduce_sum(d_term_seq, (0, 1))

    def step(self, projected_inputs: tf.Tensor, states: tuple, masks: dict, weights: tuple) -> tuple:
        """One timestep of the contract's equations: ``states_{t-1}`` -> ``states_t``.

        Args:
            projected_inputs: ``x_t W + b_x``, ``(batch, G*u)``.
            states: the cell's Keras states (``(h, c)`` LSTM, ``(h,)`` GRU), each ``(batch, units)``;
                the output ``h_t`` is ``states_t[0]``.
            masks: this step's masks by name (absent = no mask); per-lane ``(batch, ...)`` or scalars.
            weights: from :meth:`prepare_loop`.
        """
        return self.advance(
            projected_inputs, self.recurrent_term(states[0], masks.get("recurrent"), weights), states, masks
        )

    def advance(self, projected_inputs: tf.Tensor, recurrent: tf.Tensor, states: tuple, masks: dict) -> tuple:
        """The step's equations given its recurrent term ``a_t`` (:meth:`recurrent_term`): the new states."""
        raise NotImplementedError

    # ---- tf_keras.layers.RNN cell API ----------------------------------------------------------
    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        batch_size = tf.shape(inputs)[0] if batch_size is None else batch_size
        return [tf.zeros((batch_size, self.units), dtype or tf.float32) for _ in range(len(self.state_size))]

    def call(self, inputs, states, training=None):
        """Keras' per-step cell API (used by ``tf_keras.layers.RNN``): step-scope masks only."""
        states = tuple(states) if isinstance(states, (list, tuple)) else (states,)
        masks = self._masks_for_plain_rnn(inputs, training)
        loop_masks, weights = self.prepare_loop(masks)
        new_states = self.step(self.project_inputs(inputs, masks.get("input")), states, loop_masks, weights)
        return new_states[0], list(new_states)

    def _masks_for_plain_rnn(self, inputs, training) -> dict:
        if not training:
            return {k: v for k, v in inference_masks(self).items() if v != 1.0}
        masks = sample_step_masks(self.mask_slots, self.spec, tf.shape(inputs)[0])
        return {name: tf.cast(mask, inputs.dtype) for name, mask in masks.items()}

    # ---- serialisation -------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            dropout=self.spec.to_dict(),  # the resolved spec: a reload does not depend on preset tables
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "dropout": DropoutSpec(**config["dropout"])})
