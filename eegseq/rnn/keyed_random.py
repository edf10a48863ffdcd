"""A stateless, counter-based uniform generator keyed per lane.

Masks must depend only on (layer seed, lane key, scope counter, element), never on a global
generator or on which lane plays a recording (the lane key folds the recording, the epoch and the
run seed: :func:`eegseq.rnn.masks.recording_keys`).
TensorFlow's stateless RNG takes one seed per call, so a batch whose lanes have different keys
would need one call per lane; instead each element's value is an integer hash of its key and
position, which vectorises over lanes and steps and is reproducible in plain NumPy.

The mixer is Chris Wellons' 32-bit "lowbias32" finalizer (public domain constants), combined in
the style of boost's ``hash_combine``.
"""

from __future__ import annotations

import tensorflow as tf

_GOLDEN = 0x9E3779B9


def _u32(value) -> tf.Tensor:
    return tf.cast(value, tf.uint32)


def _low32(value) -> tf.Tensor:
    """The low 32 bits of an integer tensor, as uint32."""
    return _u32(tf.bitwise.bitwise_and(tf.cast(value, tf.int64), tf.constant(0xFFFFFFFF, tf.int64)))


def mix32(x: tf.Tensor) -> tf.Tensor:
    """Bijective avalanche mix of a uint32 tensor."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _u32(16)))
    x = x * _u32(0x7FEB352D)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _u32(15)))
    x = x * _u32(0x846CA68B)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _u32(16)))


def combine(h: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
    """Fold ``value`` (uint32, broadcastable to ``h``) into the running hash ``h``."""
    value = _u32(value)
    salt = value + _u32(_GOLDEN) + tf.bitwise.left_shift(h, _u32(6)) + tf.bitwise.right_shift(h, _u32(2))
    return mix32(tf.bitwise.bitwise_xor(h, salt))


def lane_hash(seed: int, lane_keys: tf.Tensor, counters: tf.Tensor, salt: int) -> tf.Tensor:
    """The key of each lane's draw.

    Args:
        seed: the layer's own seed (distinguishes layers of one model).
        lane_keys: ``(batch,)`` int64 key of each lane (its recording, epoch and run seed).
        counters: ``(batch,)`` int scope counter (the step index at which the mask is drawn),
            or any shape that broadcasts with ``lane_keys``.
        salt: small integer naming which mask of the layer is drawn.

    Returns:
        uint32 keys, the broadcast shape of ``lane_keys`` and ``counters``.
    """
    lane_keys = tf.cast(lane_keys, tf.int64)
    h = mix32(_u32(seed & 0xFFFFFFFF) + _u32(salt) * _u32(_GOLDEN))
    h = combine(h, _low32(lane_keys))
    h = combine(h, _low32(tf.bitwise.right_shift(lane_keys, tf.constant(32, tf.int64))))
    return combine(h, _low32(counters))


def keyed_uniform(keys: tf.Tensor, n_elements: int | tf.Tensor) -> tf.Tensor:
    """Uniform [0, 1) floats, ``(batch, n_elements)``.

    Element ``e`` of row ``b`` is a function of ``(keys[b], e)`` only."""
    elements = _u32(tf.range(n_elements))
    bits = combine(tf.expand_dims(keys, -1), tf.expand_dims(elements, 0))
    # 24 high bits give exactly representable float32 values in [0, 1).
    return tf.cast(tf.bitwise.right_shift(bits, _u32(8)), tf.float32) * (1.0 / (1 << 24))
