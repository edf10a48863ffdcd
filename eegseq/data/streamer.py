"""The lane streamer: recordings played window by window on ``B`` lanes (stateful-streaming.md).

Schedule. For epoch ``e`` the recordings are shuffled by ``numpy.random.default_rng([seed, e])``.
Walking that order, each recording goes to the lane that becomes free first (fewest windows
so far, ties to the lower lane), exactly as if lanes picked up the next recording when theirs
ended. The schedule depends only on (seed, epoch, the recordings' lengths), so the stream is
a pure function of ``(epoch, step)``: resuming is exact, and shards (disjoint sets of lanes)
see the same windows the unsharded stream would put in their lanes. An epoch has as many
steps as its busiest lane has windows; idle lanes get padding windows with ``valid = 0``.

Windows. Window ``k`` of a recording covers samples ``[k * window, (k + 1) * window)``; the
last one is zero-padded past the end (``length`` says how many samples are real). Each
window carries ``context`` samples before it (``receptive_field - 1``), zeros before the
recording's first sample. Signals are normalised with :class:`ChannelStats` when given
(padding stays zero). A window is ``valid`` when at least ``min_valid_fraction`` of its real
samples are not drop-outs; invalid windows stay in the stream so state stays continuous.

Reading. Each window is read with its context straight from the page cache into its slot of
the batch (``os.preadv`` of the stored chunks: no GIL held, no intermediate buffer) and
normalised there while it is still in the CPU cache: every sample is copied once. Disk I/O is
still issued in large blocks: each lane asks the OS to read ``block_samples`` ahead of the
window it plays (``posix_fadvise(WILLNEED)``), and the first block of its next recording before
the current one ends. Batch memory is recycled once no one refers to it any more, so the stream
holds a few groups of batches (:meth:`LaneStreamer.batch_groups`) whatever the store's size.
"""

from __future__ import annotations

import heapq
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from eegseq.data.normalisation import ChannelStats
from eegseq.data.recording import Event
from eegseq.data.store import StoreReader

NO_LABEL = -1


class LabelRule(BaseModel):
    """How a window gets its integer label (``-1`` = no label, carries no loss).

    * ``source="events"``: 1 when the window overlaps events whose type is one of
      ``event_types`` (or starts with ``type + "_"``, e.g. ``sz_foc``), else 0. With
      ``min_overlap == 0`` any overlap counts; otherwise the covered fraction of the window's
      real samples must be ``>= min_overlap``.
    * ``source="recording"``: the recording's label (``-1`` if it has none). With
      ``scored_event`` set, only windows overlapping an event of that type (same overlap rule)
      keep it; the others get ``-1`` (the long-memory variant scores only its ``"score"`` span).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["events", "recording"] = "events"
    event_types: tuple[str, ...] = ("sz",)
    min_overlap: float = Field(0.0, ge=0.0, le=1.0, description="fraction of the window; 0 = any overlap")
    scored_event: str | None = None


class StreamConfig(BaseModel):
    """Shape and policy of the stream. Lengths in samples."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lanes: int = Field(8, ge=1, description="lanes of the global batch (all replicas together)")
    window: int = Field(24_000, ge=1)
    context: int = Field(0, ge=0, description="receptive_field - 1 samples of left context")
    seed: int = 0
    block_samples: int = Field(1 << 18, ge=1, description="samples each lane asks the OS to read ahead at once")
    min_valid_fraction: float = Field(0.5, ge=0.0, le=1.0)
    labels: LabelRule = LabelRule()

    @model_validator(mode="after")
    def _block_holds_window(self) -> StreamConfig:
        if self.block_samples < self.window + self.context:
            object.__setattr__(self, "block_samples", self.window + self.context)
        return self


@dataclass(frozen=True)
class _Recording:
    id: str
    path: Path
    n_samples: int
    label: int | None
    events: tuple[Event, ...]
    sfreq: float


@dataclass
class _Lane:
    """One lane's open store files and how far the OS has been asked to read ahead in each."""

    # opening a store file costs ~1 ms with the GIL held: a lane keeps its current and next one open
    readers: dict[int, StoreReader] = field(default_factory=dict)
    requested: dict[int, int] = field(default_factory=dict)  # recording -> read ahead up to this sample
    recording: int = -1

    def reader(self, recording: int, path: Path) -> StoreReader:
        if recording not in self.readers:
            self.readers[recording] = StoreReader(path)
        return self.readers[recording]

    def enter(self, recording: int) -> None:
        """The lane plays ``recording`` now: forget the others (a read-ahead of it is kept)."""
        if recording != self.recording:
            for other in [r for r in self.readers if r != recording]:
                self.readers.pop(other).close()
            self.requested = {r: until for r, until in self.requested.items() if r == recording}
            self.recording = recording

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()


class RecycledArrays:
    """Uninitialised aligned float32 arrays of one shape, each handed out again only once nothing
    else refers to it.

    A batch's signal goes to a consumer that may keep it (TensorFlow adopts it without a copy
    and holds it until the step is done). Taking back the memory of batches no one holds any
    more spares the page faults of a fresh allocation (a few ms per 12 MB batch). An array is
    free when only this pool refers to it and to its memory (views of it refer to that memory).
    """

    # 4: in a tf.data pipeline one group is being filled (by the worker of tfdata.produced_ahead),
    # one is ready in its queue, one is being split into steps (views of it, so it is held until
    # its last step has been consumed), and the previous one may still be referenced; past that
    # a fresh array is allocated
    def __init__(self, shape: tuple[int, ...], capacity: int = 4) -> None:
        self.shape, self.capacity = shape, capacity
        self._arrays: list[np.ndarray] = []

    def take(self) -> np.ndarray:
        for array in self._arrays:
            # references when free: the list, ``array`` and getrefcount's argument; the memory's
            # owner: ``array.base`` and the argument
            if sys.getrefcount(array) == 3 and sys.getrefcount(array.base) == 2:
                return array
        array = aligned_empty(self.shape)
        if len(self._arrays) < self.capacity:
            self._arrays.append(array)
        return array


def equal_share(count: int, index: int, parts: int, what: str = "lanes", among: str = "shards") -> range:
    """Part ``index`` of ``range(count)`` cut into ``parts`` contiguous equal shares (lanes over the
    shards of a stream, replicas over input pipelines); an error unless ``parts`` divides ``count``."""
    if count % parts:
        raise ValueError(f"{what}={count} cannot be split into equal shares over {parts} {among}")
    if not 0 <= index < parts:
        raise ValueError(f"{among}: index {index} is outside 0..{parts - 1}")
    size = count // parts
    return range(index * size, (index + 1) * size)


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype = np.float32, alignment: int = 64) -> np.ndarray:
    """An uninitialised C-contiguous array whose data start at a multiple of ``alignment`` bytes.

    TensorFlow adopts the memory of an ndarray aligned to its 64-byte boundary without copying it
    (``tf.data.Dataset.from_generator``, ``tf.convert_to_tensor``); NumPy only guarantees 16.
    """
    itemsize = np.dtype(dtype).itemsize
    nbytes = int(np.prod(shape)) * itemsize
    raw = np.empty(nbytes + alignment, np.uint8)
    offset = -raw.ctypes.data % alignment
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)


class LaneStreamer:
    """Stream store files on lanes; see the module docstring for the contract.

    Args:
        stores: store files, one per recording (same channels).
        config: window, lanes, context, labels...
        stats: normalisation statistics (from the training split), or None for raw µV.
        shard_index, num_shards: this input pipeline's share of the lanes (contiguous,
            ``lanes / num_shards`` each; ``lanes`` must be divisible by ``num_shards``).
    """

    def __init__(self, stores: Sequence[str | os.PathLike], config: StreamConfig, stats: ChannelStats | None = None,
                 *, shard_index: int = 0, num_shards: int = 1) -> None:
        if not stores:
            raise ValueError("LaneStreamer needs at least one store file")
        self.config, self.stats = config, stats
        self.lanes = equal_share(config.lanes, shard_index, num_shards)
        self.recordings: list[_Recording] = []
        channels = None
        for path in stores:
            with StoreReader(path) as store:
                if channels is None:
                    channels = store.channels
                elif store.channels != channels:
                    raise ValueError(f"{path}: channels {store.channels} differ from {channels} of {stores[0]}")
                self.recordings.append(_Recording(store.recording_id, Path(path), store.n_samples, store.label,
                                                  tuple(store.events), store.sfreq))
        if stats is not None and stats.channels != channels:
            raise ValueError(f"normalisation stats are for channels {stats.channels}, stores have {channels}")
        ids = [r.id for r in self.recordings]
        if len(set(ids)) != len(ids):
            raise ValueError("LaneStreamer: duplicate recording ids among the stores")
        self.channels: tuple[str, ...] = channels
        self._n_windows = np.array([-(-r.n_samples // config.window) for r in self.recordings])
        # per recording, computed on first play
        self._window_labels: dict[int, np.ndarray] = {}
        self._window_validity: dict[int, np.ndarray] = {}

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def order(self, epoch: int) -> list[int]:
        """Recording indices in the play order of ``epoch``."""
        return np.random.default_rng([self.config.seed, epoch]).permutation(len(self.recordings)).tolist()

    def schedule(self, epoch: int) -> list[list[int]]:
        """For each global lane, the recording indices it plays in ``epoch``, in order."""
        free = [(0, lane) for lane in range(self.config.lanes)]
        plan: list[list[int]] = [[] for _ in range(self.config.lanes)]
        for rec in self.order(epoch):
            windows, lane = heapq.heappop(free)
            plan[lane].append(rec)
            heapq.heappush(free, (windows + int(self._n_windows[rec]), lane))
        return plan

    def steps_in_epoch(self, epoch: int) -> int:
        return max(int(self._n_windows[plan].sum()) if plan else 0 for plan in self.schedule(epoch))

    def position(self, epoch: int, step: int) -> dict:
        """JSON-serialisable position of the batch ``step`` of ``epoch`` (the next one to play).

        Holds ``epoch``, ``step``, the epoch's ``order`` (recording ids) and, per global lane,
        the index of its ``recording`` in its schedule and the ``window`` within it (both
        ``None`` once the lane is done). A position at the end of an epoch is the start of the next.
        """
        if step >= self.steps_in_epoch(epoch):
            epoch, step = epoch + 1, 0
        lanes = []
        for plan in self.schedule(epoch):
            slot, window = self._locate(plan, step)
            lanes.append({"recording": slot, "window": window,
                          "recording_id": None if slot is None else self.recordings[plan[slot]].id})
        return {"epoch": epoch, "step": step, "order": [self.recordings[i].id for i in self.order(epoch)],
                "lanes": lanes}

    def batches(self, start: dict | None = None, epochs: int | None = 1) -> Iterator[dict[str, np.ndarray]]:
        """Yield this shard's batches from ``start`` (a :meth:`position`; default epoch 0, step 0)
        up to the end of epoch ``epochs - 1`` (forever if ``epochs`` is None).

        Each batch (``b`` = this shard's lanes, ``T = context + window``, ``C`` channels):
        ``signal`` float32 ``(b, T, C)`` (64-byte aligned); ``reset``, ``valid`` float32
        ``(b,)``; ``label`` int32 ``(b,)``; ``recording_id`` bytes ``(b,)`` (``b""`` for
        padding); ``start`` int64 ``(b,)`` (first sample of the window, ``-1`` for padding);
        ``length`` int32 ``(b,)`` real samples; ``epoch``, ``step`` int64 scalars (checkpoint
        ``position(epoch, step + 1)`` after it).
        """
        for group in self.batch_groups(start, epochs):
            yield {key: value[0] for key, value in group.items()}

    def batch_groups(self, start: dict | None = None, epochs: int | None = 1,
                     steps_per_group: int = 1) -> Iterator[dict[str, np.ndarray]]:
        """The batches of :meth:`batches`, ``steps_per_group`` consecutive steps stacked (fewer at
        the end of an epoch; a group never spans two): every value gains a leading step axis
        (``signal`` ``(k, b, T, C)``, ``epoch`` and ``step`` ``(k,)``).

        The Python work per step shrinks with the group: what keeps a producer thread from holding
        the GIL the training loop needs.
        """
        cfg = self.config
        epoch, step = 0, 0
        if start is not None:
            epoch, step = int(start["epoch"]), int(start["step"])
            expected = self.position(epoch, step)
            if start != expected:
                raise ValueError(f"stream position does not match this dataset (recordings or config changed): "
                                 f"got epoch {epoch} step {step} with order {start.get('order', [])[:3]}..., "
                                 f"expected order {expected['order'][:3]}...")
        b = len(self.lanes)
        lanes = [_Lane() for _ in self.lanes]
        signals = RecycledArrays((steps_per_group, b, cfg.context + cfg.window, self.n_channels))
        try:
            yield from self._groups(epoch, step, epochs, steps_per_group, lanes, signals)
        finally:  # also when the consumer drops the generator
            for lane in lanes:
                lane.close()

    def _groups(self, epoch: int, step: int, epochs: int | None, steps_per_group: int, lanes: list[_Lane],
                signals: RecycledArrays) -> Iterator[dict[str, np.ndarray]]:
        b = len(self.lanes)
        while epochs is None or epoch < epochs:
            for lane in lanes:  # a lane may play a recording again in a new epoch: read it ahead again
                lane.requested.clear()
            schedule = self.schedule(epoch)
            plans = [schedule[lane] for lane in self.lanes]
            ends = [np.cumsum(self._n_windows[plan]) for plan in plans]
            n_steps = self.steps_in_epoch(epoch)
            for first_step in range(step, n_steps, steps_per_group):
                k = min(steps_per_group, n_steps - first_step)
                signal = signals.take()[:k]
                values = [self._fill_lane(signal[:, row], plans[row], ends[row], first_step, lanes[row])
                          for row in range(b)]
                group = {key: np.stack([lane[key] for lane in values], axis=1) for key in values[0]}
                steps = np.arange(first_step, first_step + k, dtype=np.int64)
                yield {"signal": signal, **group, "epoch": np.full(k, epoch, np.int64), "step": steps}
            epoch, step = epoch + 1, 0

    def _locate(self, plan: list[int], step: int, ends: np.ndarray | None = None) -> tuple[int | None, int | None]:
        """(index in ``plan``, window within that recording) played at ``step``, or (None, None)."""
        ends = np.cumsum(self._n_windows[plan]) if ends is None else ends
        slot = int(np.searchsorted(ends, step, side="right"))
        if slot >= len(plan):
            return None, None
        return slot, int(step - (ends[slot - 1] if slot else 0))

    def _fill_lane(self, out: np.ndarray, plan: list[int], ends: np.ndarray, first_step: int,
                   lane: _Lane) -> dict[str, np.ndarray]:
        """Write the lane's windows of steps ``first_step ...`` into ``out`` ``(k, T, C)`` (with
        context, normalised; zeros for padding); return their per-window values, each ``(k,)``."""
        cfg, k = self.config, len(out)
        values = {"reset": np.zeros(k, np.float32), "valid": np.zeros(k, np.float32),
                  "label": np.full(k, NO_LABEL, np.int32), "recording_id": np.full(k, b"", object),
                  "start": np.full(k, -1, np.int64), "length": np.zeros(k, np.int32)}
        done = 0
        while done < k:
            slot, window = self._locate(plan, first_step + done, ends)
            if slot is None:  # the lane has played its recordings: padding to the epoch's end
                out[done:] = 0
                break
            rec_index = plan[slot]
            rec = self.recordings[rec_index]
            lane.enter(rec_index)
            count = min(k - done, int(self._n_windows[rec_index]) - window)
            for i in range(count):
                self._read_window(out[done + i], plan, slot, window + i, lane)
            windows = np.arange(window, window + count)
            starts = windows * cfg.window
            stops = np.minimum(starts + cfg.window, rec.n_samples)
            run = slice(done, done + count)
            values["reset"][run] = windows == 0
            values["valid"][run] = self._validity_of(rec_index, lane)[window : window + count]
            values["label"][run] = self._labels_of(rec_index)[window : window + count]
            values["recording_id"][run] = rec.id.encode()
            values["start"][run] = starts
            values["length"][run] = stops - starts
            done += count
        return values

    def _read_window(self, out: np.ndarray, plan: list[int], slot: int, window: int, lane: _Lane) -> None:
        """Read window ``window`` of the lane's recording ``plan[slot]`` with its context into
        ``out`` ``(T, C)``, normalised, zeros where it lies outside the recording."""
        cfg, rec_index = self.config, plan[slot]
        rec = self.recordings[rec_index]
        start = window * cfg.window
        first, stop = max(0, start - cfg.context), min(start + cfg.window, rec.n_samples)
        self._read_ahead(plan, slot, first, stop, lane)
        offset = first - (start - cfg.context)
        samples = out[offset : offset + stop - first]
        lane.reader(rec_index, rec.path).read(first, stop, out=samples)
        if self.stats is not None:
            self.stats.apply(samples, out=samples)
        out[:offset] = 0
        out[offset + len(samples) :] = 0

    def _read_ahead(self, plan: list[int], slot: int, first: int, stop: int, lane: _Lane) -> None:
        """Before samples ``[first, stop)`` of ``plan[slot]`` are read: keep the OS reading at
        least half a block past ``stop`` (``block_samples`` at a time), and once the recording
        is requested to its end and less than half a block of it is left, the first block of the
        lane's next recording."""
        block, rec_index = self.config.block_samples, plan[slot]
        rec = self.recordings[rec_index]
        requested = max(first, lane.requested.get(rec_index, first))
        if requested < rec.n_samples and requested - stop < block // 2:
            until = min(rec.n_samples, max(requested, stop) + block)
            lane.reader(rec_index, rec.path).read_ahead(requested, until)
            lane.requested[rec_index] = requested = until
        if requested == rec.n_samples and rec.n_samples - stop < block // 2 and slot + 1 < len(plan):
            upcoming = self.recordings[plan[slot + 1]]
            if plan[slot + 1] not in lane.requested:
                until = min(upcoming.n_samples, block)
                lane.reader(plan[slot + 1], upcoming.path).read_ahead(0, until)
                lane.requested[plan[slot + 1]] = until

    def _validity_of(self, rec_index: int, lane: _Lane) -> np.ndarray:
        """Whether each window of recording ``rec_index`` is valid, bool ``(n_windows,)``.

        Read once per recording from its whole validity mask (a byte per sample, gzip: h5py
        holds the GIL while it inflates, so not per block) and kept: a byte per window."""
        validity = self._window_validity.get(rec_index)
        if validity is None:
            rec, width = self.recordings[rec_index], self.config.window
            valid = lane.reader(rec_index, rec.path).read_valid(0, rec.n_samples)
            starts = np.arange(0, rec.n_samples, width)
            n_valid = np.add.reduceat(valid.view(np.uint8), starts, dtype=np.int64)
            lengths = np.minimum(starts + width, rec.n_samples) - starts
            validity = self._window_validity[rec_index] = n_valid >= self.config.min_valid_fraction * lengths
        return validity

    def _labels_of(self, rec_index: int) -> np.ndarray:
        labels = self._window_labels.get(rec_index)
        if labels is None:
            labels = self._window_labels[rec_index] = self.window_labels(rec_index)
        return labels

    def window_labels(self, index: int) -> np.ndarray:
        """Labels of every window of recording ``index`` (int32, -1 = none), from its events or
        label alone: no samples are read (e.g. to weigh classes over the training split)."""
        rec, window = self.recordings[index], self.config.window
        return np.array([self._label(rec, start, min(start + window, rec.n_samples))
                         for start in range(0, rec.n_samples, window)], np.int32)

    def _label(self, rec: _Recording, start: int, stop: int) -> int:
        rule = self.config.labels
        if rule.source == "events":
            return int(self._overlaps(rec, start, stop, rule.event_types))
        if rec.label is None:
            return NO_LABEL
        if rule.scored_event is not None and not self._overlaps(rec, start, stop, (rule.scored_event,)):
            return NO_LABEL
        return rec.label

    def _overlaps(self, rec: _Recording, start: int, stop: int, types: tuple[str, ...]) -> bool:
        """Whether events of ``types`` cover ``[start, stop)`` per the label rule's ``min_overlap``."""
        spans = sorted((e.onset * rec.sfreq, e.offset * rec.sfreq) for e in rec.events
                       if any(e.label == t or e.label.startswith(t + "_") for t in types))
        covered, reach = 0.0, float(start)
        for onset, offset in spans:  # union of spans clipped to the window
            lo, hi = max(onset, reach), min(offset, stop)
            if hi > lo:
                covered += hi - lo
                reach = hi
        if self.config.labels.min_overlap == 0:
            return covered > 0
        return covered >= self.config.labels.min_overlap * (stop - start)
