"""Masks are data: which masks a cell uses, how they are sampled from a seed, and their inference values.

A cell declares its masks as :class:`MaskSlot` s. This module is the one place where masks are
drawn. Masks are *effective multipliers*: a training mask under ``inverted`` scaling holds
``{0, 1/q}``, so the cells' equations only ever multiply by a mask.

Shapes of a mask dictionary for a window of ``steps`` timesteps and ``batch`` lanes:

* ``"input"``: ``(batch, input_dim)``; variational, one mask per lane reused at every step.
* loop masks (``"recurrent"``, ``"update"``, ``"memory"``, ``"zoneout_h"``, ``"zoneout_c"``):
  ``(batch, *slot.shape)``, or ``(batch, steps, *slot.shape)`` under ``step`` scope.
* ``"weight"``: ``slot.shape`` (shared by all lanes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

from eegseq.rnn.keyed_random import keyed_uniform, lane_hash
from eegseq.rnn.spec import DropoutSpec, MaskRule

INPUT, LOOP, WEIGHT = "input", "loop", "weight"


@dataclass(frozen=True)
class MaskSlot:
    """One mask of a cell.

    Attributes:
        name: key in the mask dictionary.
        kind: ``"input"``, ``"loop"`` (acts inside the recurrence) or ``"weight"``.
        shape: per-lane shape (per-layer shape for ``"weight"``).
        rule: how it is drawn and its inference value.
        salt: integer distinguishing this mask's random stream from the layer's others.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    rule: MaskRule
    salt: int

    def lifetime(self, spec: DropoutSpec) -> str:
        """The scope this mask lives for: input masks are variational (never per step)."""
        if self.kind == INPUT:
            return "recording" if spec.scope == "recording" else "window"
        return spec.scope


def carried_slots(slots: tuple[MaskSlot, ...], spec: DropoutSpec) -> tuple[MaskSlot, ...]:
    """The masks that persist across windows and so belong to a lane's carried state."""
    return tuple(s for s in slots if s.lifetime(spec) == "recording")


def _draw(slot: MaskSlot, keys: tf.Tensor) -> tf.Tensor:
    """Bernoulli draw with the slot's rule for every key: ``keys.shape + slot.shape``."""
    n = math.prod(slot.shape)
    u = keyed_uniform(keys, n)
    on = tf.cast(u < slot.rule.p_one, tf.float32) * slot.rule.train_on_value
    return tf.reshape(on, tf.concat([tf.shape(keys), slot.shape], 0))


def sample_slot(
    slot: MaskSlot,
    spec: DropoutSpec,
    *,
    seed: int,
    mask_seed: tf.Tensor | int,
    lane_keys: tf.Tensor,
    steps_seen: tf.Tensor,
    steps: int | tf.Tensor,
) -> tf.Tensor:
    """Draw one training mask for a window.

    Args:
        slot: the mask to draw.
        spec: the layer's dropout spec (decides the mask's lifetime).
        seed: the layer's seed.
        mask_seed: scalar run seed (fold the epoch in to draw new masks each epoch).
        lane_keys: ``(batch,)`` int64 key of the recording each lane plays.
        steps_seen: ``(batch,)`` int, steps each lane has processed in its recording before this window.
        steps: timesteps in the window (used by ``step`` scope).

    Returns:
        the mask, shaped as described in the module docstring. The counter of the draw is 0 for
        ``recording`` scope, the window's first step for ``window``, and each absolute step for
        ``step``, so a recording gets the same masks whichever lane plays it and however it is cut.
    """
    lifetime = slot.lifetime(spec)
    lane_keys = tf.cast(lane_keys, tf.int64)
    steps_seen = tf.cast(steps_seen, tf.int64)
    if slot.kind == WEIGHT:
        # One mask for all lanes: key it on every lane's (recording, position) so it changes each window.
        keys = lane_hash(seed, mask_seed, lane_keys, steps_seen, slot.salt)
        key = tf.reduce_sum(keys, keepdims=True)  # uint32 sum wraps, which is fine for a key
        return _draw(slot, key)[0]
    if lifetime == "step":
        counters = steps_seen[:, None] + tf.range(tf.cast(steps, tf.int64))[None, :]
        keys = lane_hash(seed, mask_seed, lane_keys[:, None], counters, slot.salt)
    else:
        counters = tf.zeros_like(steps_seen) if lifetime == "recording" else steps_seen
        keys = lane_hash(seed, mask_seed, lane_keys, counters, slot.salt)
    return _draw(slot, keys)


def sample_masks(
    cell,
    batch_size: int,
    steps: int,
    *,
    seed: int = 0,
    mask_seed: int = 0,
    lane_keys=None,
    steps_seen=None,
) -> dict[str, tf.Tensor]:
    """Sample the training masks a cell would use for one window, to inspect, store or pass back.

    Args:
        cell: a built :class:`~eegseq.rnn.DropoutLSTMCell` or :class:`~eegseq.rnn.DropoutGRUCell`.
        batch_size: lanes.
        steps: timesteps of the window.
        seed: layer seed (``StreamRNN(seed=...)``).
        mask_seed: run seed as passed to ``StreamRNN(..., mask_seed=...)``.
        lane_keys: ``(batch,)`` recording keys (default: the lane index).
        steps_seen: ``(batch,)`` steps already processed in each lane's recording (default 0).

    Returns:
        ``{name: mask}`` for every mask of the cell's scheme; shapes as in the module docstring.
    """
    lane_keys = tf.range(batch_size, dtype=tf.int64) if lane_keys is None else tf.convert_to_tensor(lane_keys, tf.int64)
    steps_seen = tf.zeros((batch_size,), tf.int64) if steps_seen is None else tf.convert_to_tensor(steps_seen, tf.int64)
    return {
        slot.name: sample_slot(
            slot, cell.spec, seed=seed, mask_seed=mask_seed, lane_keys=lane_keys, steps_seen=steps_seen, steps=steps
        )
        for slot in cell.mask_slots
    }


def inference_masks(cell) -> dict[str, float]:
    """The constant every mask of the cell takes at inference (1 means "no effect")."""
    return {slot.name: slot.rule.inference_value for slot in cell.mask_slots}
