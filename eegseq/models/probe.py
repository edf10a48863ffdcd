"""One window of a stream model, unrolled step by step: every RNN layer's states and ``∂L/∂state_t``.

The model's own layers run their windows as compiled loops that expose neither the states inside a
window nor their gradients. :class:`StateProbe` recomputes one window with the same weights, the
same carried state and the same masks (see :mod:`eegseq.rnn.diagnostics`), layer by layer, and
differentiates the window's loss with respect to every state at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import tf_keras as keras

from eegseq.models.network import StreamModel
from eegseq.models.stock import StockStreamRNN
from eegseq.rnn.diagnostics import stock_rnn_step, stream_rnn_step, unroll


@dataclass(frozen=True)
class ProbedWindow:
    """What :class:`StateProbe` measured on one window (``B`` lanes, ``T`` RNN steps).

    Attributes:
        logits: ``(B,)`` the window logits.
        states: ``{"<layer>__h" | "<layer>__c": (B, T, units)}`` every step's state.
        gradients: the same keys, ``∂L/∂state_t`` where ``L`` is the sum over lanes of each lane's
            window cross-entropy (so each lane's gradient is its own loss's). The state after the
            window's last step feeds no later step: its ``c`` gradient is 0, its ``h`` gradient the head's.
    """

    logits: np.ndarray
    states: dict[str, np.ndarray]
    gradients: dict[str, np.ndarray]


class StateProbe:
    """Unroll windows of ``model`` (a :class:`~eegseq.models.StreamModel`, the chain front-end ->
    RNN layers -> head that :func:`~eegseq.models.build_model` builds)."""

    def __init__(self, model: StreamModel):
        self.model = model
        keras_model = model.model
        self.frontend = keras.Model(
            keras_model.get_layer("signal").output, keras_model.get_layer("drop_context").output
        )
        self.head = keras_model.get_layer("head")
        self._compiled = {
            mode: tf.function(lambda *args, mode=mode: self._probe(*args, mode)) for mode in (False, True)
        }

    def __call__(self, signal, reset, lane_keys, state: dict, labels, training: bool) -> ProbedWindow:
        """Probe one window.

        Args:
            signal, reset, lane_keys, state: as for :meth:`StreamModel.__call__` (the state *before* the window).
            labels: ``(B,)`` 0/1 labels of the windows; lanes with a negative label weigh 0.
            training: training mode (the variant's own masks) or inference mode.
        """
        labels = tf.convert_to_tensor(labels, tf.float32)
        logits, states, gradients = self._compiled[training](
            tf.convert_to_tensor(signal, tf.float32),
            tf.convert_to_tensor(reset, tf.float32),
            tf.convert_to_tensor(lane_keys, tf.int64),
            state,
            labels,
        )

        def batch_major(tensors):
            return {name: np.transpose(value.numpy(), (1, 0, 2)) for name, value in tensors.items()}

        return ProbedWindow(logits.numpy(), batch_major(states), batch_major(gradients))

    def _probe(self, signal, reset, lane_keys, state, labels, training):
        x = self.frontend(signal, training=training)
        sequences, nudges = {}, {}
        with tf.GradientTape() as tape:
            for layer in self.model.rnn_layers:
                carried = [state[f"{layer.name}__{name}"] for name in layer.state_names]
                if isinstance(layer, StockStreamRNN):
                    step, initial = stock_rnn_step(layer.rnn, reset, carried, training)
                else:
                    step, initial = stream_rnn_step(layer, x, reset, lane_keys, carried, training)
                inputs_tm = tf.transpose(x, (1, 0, 2))
                layer_nudges = [tf.zeros(tf.concat([tf.shape(inputs_tm)[:1], tf.shape(s)], 0)) for s in initial]
                tape.watch(layer_nudges)
                layer_sequences = unroll(step, inputs_tm, initial, layer_nudges)
                for name, sequence, nudge in zip(layer.state_names, layer_sequences, layer_nudges):
                    sequences[f"{layer.name}__{name}"], nudges[f"{layer.name}__{name}"] = sequence, nudge
                x = tf.transpose(layer_sequences[0], (1, 0, 2))
            logits = self.head(x[:, -1])[:, 0]
            weight = tf.cast(labels >= 0, tf.float32)
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.maximum(labels, 0.0), logits=logits)
            loss = tf.reduce_sum(weight * losses)
        return logits, sequences, tape.gradient(loss, nudges)
