"""Masks are data: which masks a cell uses, how they are keyed, how long they live, and how they are drawn.

This module is the one place where masks are keyed and drawn, for :class:`~eegseq.rnn.StreamRNN`
and for a cell inside a plain ``tf_keras.layers.RNN`` alike. Masks are *effective multipliers*:
a training mask under ``inverted`` scaling holds ``{0, 1/q}``, so the cells' equations only ever
multiply by a mask.

Shapes of a mask dictionary for a window of ``steps`` timesteps and ``batch`` lanes:

* ``"input"``: ``(batch, input_dim)``; variational, one mask per lane reused at every step.
* loop masks (``"recurrent"``, ``"update"``, ``"memory"``, ``"zoneout_h"``, ``"zoneout_c"``):
  ``(batch, *slot.shape)``, or ``(batch, steps, *slot.shape)`` under ``step`` scope.
* ``"weight"``: ``slot.shape`` (shared by all lanes).

Keys: every element is a hash of (layer seed, mask salt, lane key, scope counter, element); the
lane key is :func:`recording_keys` of the recording a lane plays, the epoch and the run seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

from eegseq.rnn.keyed_random import keyed_uniform, lane_hash
from eegseq.rnn.spec import DropoutSpec, MaskRule

INPUT, LOOP, WEIGHT = "input", "loop", "weight"

# Which masks each scheme uses, with the salt that names each mask's random stream within a layer.
# Salts key every mask ever drawn: changing one changes the masks of every run.
INPUT_SALT = 1
SCHEME_MASKS: dict[str, tuple[tuple[str, int], ...]] = {
    "none": (),
    "gal": (("recurrent", 2),),
    "semeniuta": (("update", 3),),
    "moon": (("memory", 4),),
    "zoneout": (("zoneout_h", 5), ("zoneout_c", 6)),
    "weight_drop": (("weight", 7),),
}


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


def scheme_slots(spec: DropoutSpec, *, input_dim: int, units: int, gates: int, has_cell_state: bool) -> tuple:
    """The masks a cell with this spec uses, as :class:`MaskSlot` s (none where a rate is 0).

    Args:
        spec: the cell's dropout spec.
        input_dim: features of ``x_t``; units: hidden size ``u``; gates: gate blocks (LSTM 4, GRU 3).
        has_cell_state: whether the cell has a memory ``c`` (LSTM), which zoneout also masks.
    """
    slots = []
    if spec.input_rate:
        slots.append(MaskSlot("input", INPUT, (input_dim,), spec.dropout_rule(spec.input_rate), INPUT_SALT))
    for name, salt in SCHEME_MASKS[spec.scheme]:
        if name == "zoneout_h":
            slots.append(MaskSlot(name, LOOP, (units,), spec.zoneout_rule(spec.zoneout_h), salt))
        elif name == "zoneout_c":
            if has_cell_state:
                slots.append(MaskSlot(name, LOOP, (units,), spec.zoneout_rule(spec.zoneout_c), salt))
        elif spec.rate:
            if name == "weight":
                kind, shape = WEIGHT, (units, gates * units)
            else:
                kind, shape = LOOP, (gates, units) if name == "recurrent" and not spec.tied else (units,)
            slots.append(MaskSlot(name, kind, shape, spec.dropout_rule(spec.rate), salt))
    return tuple(slots)


def carried_slots(slots: tuple[MaskSlot, ...], spec: DropoutSpec) -> tuple[MaskSlot, ...]:
    """The masks that persist across windows and so belong to a lane's carried state."""
    return tuple(s for s in slots if s.lifetime(spec) == "recording")


def recording_keys(recording_ids: tf.Tensor, epoch: tf.Tensor | int, run_seed: int) -> tf.Tensor:
    """The lane keys of ``StreamRNN(lane_keys=...)``: a fingerprint of (recording, epoch, run seed).

    The same recording draws the same masks on every lane, replica and worker, and after a resume;
    a new epoch or run seed draws new ones.

    Args:
        recording_ids: ``(batch,)`` string ids of the recording each lane plays.
        epoch: scalar int (or ``(batch,)``), the epoch the lanes are in.
        run_seed: the run's seed.

    Returns:
        ``(batch,)`` int64 keys in ``[0, 2**62)``.
    """
    text = tf.strings.join([recording_ids, tf.strings.as_string(epoch), str(run_seed)], separator="|")
    return tf.strings.to_hash_bucket_fast(text, 2**62)


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
    lane_keys: tf.Tensor,
    steps_seen: tf.Tensor,
    steps: int | tf.Tensor,
) -> tf.Tensor:
    """Draw one training mask for a window.

    Args:
        slot: the mask to draw.
        spec: the layer's dropout spec (decides the mask's lifetime).
        seed: the layer's seed.
        lane_keys: ``(batch,)`` int64 key of each lane (:func:`recording_keys`).
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
        keys = lane_hash(seed, lane_keys, steps_seen, slot.salt)
        key = tf.reduce_sum(keys, keepdims=True)  # uint32 sum wraps, which is fine for a key
        return _draw(slot, key)[0]
    if lifetime == "step":
        counters = steps_seen[:, None] + tf.range(tf.cast(steps, tf.int64))[None, :]
        keys = lane_hash(seed, lane_keys[:, None], counters, slot.salt)
    else:
        counters = tf.zeros_like(steps_seen) if lifetime == "recording" else steps_seen
        keys = lane_hash(seed, lane_keys, counters, slot.salt)
    return _draw(slot, keys)


def sample_window(
    slots: tuple[MaskSlot, ...],
    spec: DropoutSpec,
    *,
    seed: int,
    lane_keys: tf.Tensor,
    steps_seen: tf.Tensor,
    steps: int | tf.Tensor,
    carried: dict[str, tf.Tensor] | None = None,
    fresh: tf.Tensor | None = None,
) -> tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]:
    """The training masks of one window, and the carried (``recording``-scope) masks after it.

    Args:
        slots, spec, seed, lane_keys, steps_seen, steps: as in :func:`sample_slot`.
        carried: ``{name: (batch, *shape)}`` the lanes' carried masks; None draws them all.
        fresh: ``(batch,)`` bool, lanes whose carried masks are redrawn (a new recording, or never
            drawn); the other lanes keep theirs. Needed with ``carried``.

    Returns:
        ``(masks, carried)``: every slot's mask (batch-major, as in the module docstring) and the
        carried masks to keep in the lanes' state.
    """
    masks, kept = {}, dict(carried or {})
    for slot in slots:
        drawn = sample_slot(slot, spec, seed=seed, lane_keys=lane_keys, steps_seen=steps_seen, steps=steps)
        if carried is not None and slot.name in carried:
            drawn = tf.where(tf.reshape(fresh, (-1,) + (1,) * len(slot.shape)), drawn, carried[slot.name])
            kept[slot.name] = drawn
        masks[slot.name] = drawn
    return masks, kept


def sample_step_masks(slots: tuple[MaskSlot, ...], spec: DropoutSpec, batch: tf.Tensor) -> dict[str, tf.Tensor]:
    """Masks for one timestep of a cell inside a plain ``tf_keras.layers.RNN``.

    A plain RNN has no lanes, recordings or step counter to key on, so each lane's key is drawn
    from TensorFlow's global generator at every step (seed it with ``keras.utils.set_random_seed``);
    the masks are then drawn from that key like every other mask. Only ``step`` scope (a fresh mask
    at every timestep) can be honoured this way.

    Returns:
        ``{name: (batch, *shape)}`` (``weight_drop`` has no ``step`` scope, so no weight mask occurs).
    """
    if slots and spec.scope != "step":
        raise ValueError(
            f"scope={spec.scope!r} needs eegseq.rnn.StreamRNN, which owns mask lifetimes; inside a plain "
            "tf_keras.layers.RNN only scope='step' (or no dropout) can be honoured"
        )
    keys = tf.random.uniform(tf.reshape(batch, (1,)), maxval=2**62, dtype=tf.int64)
    counters = tf.zeros_like(keys)
    return {slot.name: _draw(slot, lane_hash(0, keys, counters, slot.salt)) for slot in slots}


def sample_masks(
    cell,
    batch_size: int,
    steps: int,
    *,
    seed: int = 0,
    lane_keys=None,
    steps_seen=None,
) -> dict[str, tf.Tensor]:
    """Sample the training masks a cell would use for one window, to inspect, store or pass back.

    Args:
        cell: a built :class:`~eegseq.rnn.DropoutLSTMCell` or :class:`~eegseq.rnn.DropoutGRUCell`.
        batch_size: lanes.
        steps: timesteps of the window.
        seed: layer seed (``StreamRNN(seed=...)``).
        lane_keys: ``(batch,)`` lane keys (:func:`recording_keys`; default: the lane index).
        steps_seen: ``(batch,)`` steps already processed in each lane's recording (default 0).

    Returns:
        ``{name: mask}`` for every mask of the cell's scheme; shapes as in the module docstring.
    """
    lane_keys = tf.range(batch_size, dtype=tf.int64) if lane_keys is None else tf.convert_to_tensor(lane_keys, tf.int64)
    steps_seen = tf.zeros((batch_size,), tf.int64) if steps_seen is None else tf.convert_to_tensor(steps_seen, tf.int64)
    masks, _ = sample_window(
        cell.mask_slots, cell.spec, seed=seed, lane_keys=lane_keys, steps_seen=steps_seen, steps=steps
    )
    return masks


def inference_masks(cell) -> dict[str, float]:
    """The constant every mask of the cell takes at inference (1 means "no effect")."""
    return {slot.name: slot.rule.inference_value for slot in cell.mask_slots}
