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

Memory. Each lane holds one block of at most ``max(block_samples, window + context)`` samples
of its current recording, read in one contiguous HDF5 read and sliced in memory.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from eegseq.data.manifest import load_manifest
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
    block_samples: int = Field(1 << 18, ge=1, description="samples read at once per lane")
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
class _Block:
    recording: int
    start: int
    signal: np.ndarray  # (stop - start, n_channels), normalised when stats are given
    valid: np.ndarray  # (stop - start,) bool


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
        if config.lanes % num_shards or not 0 <= shard_index < num_shards:
            raise ValueError(f"cannot give shard {shard_index} of {num_shards} an equal share of {config.lanes} lanes")
        self.config, self.stats = config, stats
        per_shard = config.lanes // num_shards
        self.lanes = range(shard_index * per_shard, (shard_index + 1) * per_shard)
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
        self._padding = np.zeros((config.context + config.window, len(channels)), np.float32)
        self._padding.flags.writeable = False

    @classmethod
    def from_manifest(cls, manifest: str | os.PathLike, split: str, config: StreamConfig,
                      stats: ChannelStats | None = None, *, store_root: str | os.PathLike | None = None,
                      shard_index: int = 0, num_shards: int = 1) -> LaneStreamer:
        """Stream the rows of a store manifest whose ``split`` matches (``store_root``: default its folder)."""
        root = Path(manifest).parent if store_root is None else Path(store_root)
        rows = [row for row in load_manifest(manifest, root) if row.split == split]
        if not rows:
            raise ValueError(f"{manifest}: no recording in split {split!r}")
        return cls([root / row.path for row in rows], config, stats, shard_index=shard_index, num_shards=num_shards)

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
        ``signal`` float32 ``(b, T, C)``; ``reset``, ``valid`` float32 ``(b,)``; ``label`` int32
        ``(b,)``; ``recording_id`` bytes ``(b,)`` (``b""`` for padding); ``start`` int64 ``(b,)``
        (first sample of the window, ``-1`` for padding); ``length`` int32 ``(b,)`` real samples;
        ``epoch``, ``step`` int64 scalars (checkpoint ``position(epoch, step + 1)`` after it).
        """
        b = len(self.lanes)
        windows = self.lane_windows(start, epochs)
        while lane_rows := [w for _, w in zip(range(b), windows)]:
            batch = {key: np.stack([w[key] for w in lane_rows]) for key in lane_rows[0]}
            batch["epoch"], batch["step"] = batch["epoch"][0], batch["step"][0]
            yield batch

    def lane_windows(self, start: dict | None = None, epochs: int | None = 1) -> Iterator[dict]:
        """The stream of :meth:`batches` one lane-window at a time (step by step, lanes in order).

        Each item holds the per-lane values of a batch row (``signal`` ``(T, C)``, scalars for the
        rest, ``epoch`` and ``step`` included). ``signal`` is a read-only view into the lane's
        block whenever the window and its context lie inside the recording (no copy).
        """
        epoch, step = 0, 0
        if start is not None:
            epoch, step = int(start["epoch"]), int(start["step"])
            expected = self.position(epoch, step)
            if start != expected:
                raise ValueError(f"stream position does not match this dataset (recordings or config changed): "
                                 f"got epoch {epoch} step {step} with order {start.get('order', [])[:3]}..., "
                                 f"expected order {expected['order'][:3]}...")
        blocks: dict[int, _Block] = {}
        while epochs is None or epoch < epochs:
            plans = self.schedule(epoch)
            ends = [np.cumsum(self._n_windows[plans[lane]]) for lane in self.lanes]
            for s in range(step, self.steps_in_epoch(epoch)):
                for row, lane in enumerate(self.lanes):
                    yield self._window(plans[lane], ends[row], lane, epoch, s, blocks)
            epoch, step = epoch + 1, 0

    def _locate(self, plan: list[int], step: int, ends: np.ndarray | None = None) -> tuple[int | None, int | None]:
        """(index in ``plan``, window within that recording) played at ``step``, or (None, None)."""
        ends = np.cumsum(self._n_windows[plan]) if ends is None else ends
        slot = int(np.searchsorted(ends, step, side="right"))
        if slot >= len(plan):
            return None, None
        return slot, int(step - (ends[slot - 1] if slot else 0))

    def _window(self, plan: list[int], ends: np.ndarray, lane: int, epoch: int, step: int,
                blocks: dict[int, _Block]) -> dict:
        cfg = self.config
        slot, window = self._locate(plan, step, ends)
        if slot is None:
            blocks.pop(lane, None)
            return {"signal": self._padding, "reset": np.float32(0), "valid": np.float32(0),
                    "label": np.int32(NO_LABEL), "recording_id": b"", "start": np.int64(-1),
                    "length": np.int32(0), "epoch": np.int64(epoch), "step": np.int64(step)}
        rec = self.recordings[plan[slot]]
        start = window * cfg.window
        stop = min(start + cfg.window, rec.n_samples)
        first = max(0, start - cfg.context)
        block = self._block_for(lane, plan[slot], first, stop, blocks)
        offset = first - (start - cfg.context)
        samples = block.signal[first - block.start : stop - block.start]
        if offset or stop - start < cfg.window:  # zeros before the first / after the last sample
            signal = np.zeros_like(self._padding)
            signal[offset : offset + len(samples)] = samples
        else:
            signal = samples
        n_valid = int(block.valid[start - block.start : stop - block.start].sum())
        return {
            "signal": signal,
            "reset": np.float32(window == 0),
            "valid": np.float32(n_valid >= cfg.min_valid_fraction * (stop - start)),
            "label": np.int32(self._label(rec, start, stop)),
            "recording_id": rec.id.encode(),
            "start": np.int64(start),
            "length": np.int32(stop - start),
            "epoch": np.int64(epoch),
            "step": np.int64(step),
        }

    def _block_for(self, lane: int, rec_index: int, first: int, stop: int, blocks: dict[int, _Block]) -> _Block:
        """The lane's cached block if it holds ``[first, stop)``, else a new block read from ``first``."""
        block = blocks.get(lane)
        if block is not None and block.recording == rec_index and block.start <= first \
                and stop <= block.start + block.valid.size:
            return block
        rec = self.recordings[rec_index]
        block_stop = min(rec.n_samples, first + self.config.block_samples)
        blocks.pop(lane, None)  # release the old block before reading the new one
        with StoreReader(rec.path) as store:
            signal = store.read(first, block_stop)
            valid = store.read_valid(first, block_stop)
        if self.stats is not None:
            signal = self.stats.apply(signal, out=signal)  # in place: the block is ours
        signal.flags.writeable = False  # windows handed out are views of it
        blocks[lane] = _Block(rec_index, first, signal, valid)
        return blocks[lane]

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
