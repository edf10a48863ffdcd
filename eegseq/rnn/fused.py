"""Fused kernels for windows in which no mask acts inside the recurrence.

``none``, ``weight_drop`` and input-only dropout leave the LSTM recurrence itself untouched (weight
drop only changes ``U`` for the window), so TensorFlow's fused block LSTM kernel (CPU and GPU) runs the
whole window in one op with its own hand-written gradient. The GRU has no fused kernel with Keras'
``reset_after=True`` semantics on CPU (``GRUBlockCell`` applies the reset gate before the product), so
GRU windows always take the lean loop.
"""

from __future__ import annotations

import tensorflow as tf


def _to_icfo(matrix: tf.Tensor) -> tf.Tensor:
    """Reorder the last axis' gate blocks from Keras' (i, f, g, o) to the block kernel's (i, g, f, o)."""
    i, f, g, o = tf.split(matrix, 4, axis=-1)
    return tf.concat([i, g, f, o], axis=-1)


def block_lstm(
    inputs_time_major: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    kernel: tf.Tensor,
    recurrent_kernel: tf.Tensor,
    bias: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Run a Keras-layout LSTM over a window with the fused ``BlockLSTM`` kernel.

    ``BlockLSTMV2`` would take Keras' gate order directly, but TensorFlow registers the *V1*
    gradient for it, which assumes the other layout and returns wrong weight gradients
    (TF 2.21); so the V1 op is used, with the gate blocks reordered.

    Args:
        inputs_time_major: ``(steps, batch, input_dim)``, input dropout already applied.
        h0, c0: ``(batch, units)`` initial states.
        kernel: ``(input_dim, 4u)``; recurrent_kernel: ``(u, 4u)``; bias: ``(4u,)``, Keras gate order.

    Returns:
        ``(h_seq, c_seq)``, each ``(steps, batch, units)``.
    """
    units = recurrent_kernel.shape[0]
    zeros = tf.zeros((units,), inputs_time_major.dtype)
    outputs = tf.raw_ops.BlockLSTM(
        seq_len_max=tf.cast(tf.shape(inputs_time_major)[0], tf.int64),
        x=inputs_time_major,
        cs_prev=c0,
        h_prev=h0,
        w=_to_icfo(tf.concat([kernel, recurrent_kernel], axis=0)),
        wci=zeros,
        wcf=zeros,
        wco=zeros,
        b=_to_icfo(bias),
        forget_bias=0.0,  # Keras adds no constant to the forget gate (its bias starts at 1 instead)
        cell_clip=0.0,  # 0 disables clipping: Keras' LSTM does not clip the cell state
        use_peephole=False,
    )
    # outputs: i, cs, f, o, ci, co, h
    return outputs[6], outputs[1]
