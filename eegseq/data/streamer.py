"""The lane streamer: recordings played whole, window by window, on ``B`` lanes of a batch.

The contract (lanes, resets, padding, context, exactness, positions) is docs/streaming.md. This
module assembles batches from four parts, each in its own module: the play order
(:mod:`eegseq.data.schedule`), window labels (:mod:`eegseq.data.labels`), reading windows from
the store (:mod:`eegseq.data.window_reader`) and recycled batch memory (:mod:`eegseq.data.buffers`).

Windows. Window ``k`` of a recording covers samples ``[k * window, (k + 1) * window)``; the
last one is zero-padded past the end (``length`` says how many samples are real). Each
window carries ``context`` samples before it (``receptive_field - 1``), zeros before the
recording's first sample. Signals are normalised with :class:`ChannelStats` when given
(padding stays zero). A window is ``valid`` when at least ``min_valid_fraction`` of its real
samples are not drop-outs; invalid windows stay in the stream so state stays continuous. Idle
lanes get padding windows with ``valid = 0`` until the epoch's busiest lane is done. Batch
memory is recycled once no one refers to it any more, so the stream holds a few groups of
batches (:meth:`LaneStreamer.batch_groups`) whatever the store's size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from eegseq.data.buffers import RecycledArrays
from eegseq.data.labels import NO_LABEL, LabelRule, window_labels
from eegseq.data.normalisation import ChannelStats
from eegseq.data.schedule import Schedule, equal_share
from eegseq.data.window_reader import LaneFiles, WindowReader, read_recordings

__all__ = ["LabelRule", "LaneStreamer", "StreamConfig"]


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


class LaneStreamer:
    """Stream store files on lanes; see the module docstring for the contract.

    Args:
        stores: store files, one per recording (same channels).
        config: window, lanes, context, labels...
        stats: normalisation statistics (from the training split), or None for raw µV.
        shard_index, num_shards: this input pipeline's share of the lanes (contiguous,
            ``lanes / num_shards`` each; ``lanes`` must be divisible by ``num_shards``).
    """

    def __init__(
        self,
        stores: Sequence[str | os.PathLike],
        config: StreamConfig,
        stats: ChannelStats | None = None,
        *,
        shard_index: int = 0,
        num_shards: int = 1,
    ) -> None:
        self.config, self.stats = config, stats
        self.lanes = equal_share(config.lanes, shard_index, num_shards)
        self.recordings, self.channels = read_recordings(stores)
        if stats is not None and stats.channels != self.channels:
            raise ValueError(f"normalisation stats are for channels {stats.channels}, stores have {self.channels}")
        self._n_windows = np.array([-(-r.n_samples // config.window) for r in self.recordings])
        self._schedule = Schedule(self._n_windows, config.lanes, config.seed)
        self._reader = WindowReader(
            self.recordings, config.window, config.context, config.block_samples, config.min_valid_fraction, stats
        )
        self._window_labels: dict[int, np.ndarray] = {}  # per recording, computed on first play

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def order(self, epoch: int) -> list[int]:
        """Recording indices in the play order of ``epoch``."""
        return self._schedule.order(epoch)

    def schedule(self, epoch: int) -> list[list[int]]:
        """For each global lane, the recording indices it plays in ``epoch``, in order."""
        return self._schedule.lane_plans(epoch)

    def steps_in_epoch(self, epoch: int) -> int:
        return self._schedule.steps_in_epoch(epoch)

    def position(self, epoch: int, step: int) -> dict:
        """JSON-serialisable position of the batch ``step`` of ``epoch`` (see :meth:`Schedule.position`)."""
        return self._schedule.position(epoch, step, [r.id for r in self.recordings])

    def window_labels(self, index: int) -> np.ndarray:
        """Labels of every window of recording ``index`` (int32, -1 = none), from its events or
        label alone: no samples are read (e.g. to weigh classes over the training split)."""
        rec = self.recordings[index]
        return window_labels(self.config.labels, rec.events, rec.label, rec.sfreq, rec.n_samples, self.config.window)

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

    def batch_groups(
        self, start: dict | None = None, epochs: int | None = 1, steps_per_group: int = 1
    ) -> Iterator[dict[str, np.ndarray]]:
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
                raise ValueError(
                    f"stream position does not match this dataset (recordings or config changed): "
                    f"got epoch {epoch} step {step} with order {start.get('order', [])[:3]}..., "
                    f"expected order {expected['order'][:3]}..."
                )
        lanes = [LaneFiles() for _ in self.lanes]
        signals = RecycledArrays((steps_per_group, len(self.lanes), cfg.context + cfg.window, self.n_channels))
        try:
            yield from self._groups(epoch, step, epochs, steps_per_group, lanes, signals)
        finally:  # also when the consumer drops the generator
            for lane in lanes:
                lane.close()

    def _groups(
        self,
        epoch: int,
        step: int,
        epochs: int | None,
        steps_per_group: int,
        lanes: list[LaneFiles],
        signals: RecycledArrays,
    ) -> Iterator[dict[str, np.ndarray]]:
        while epochs is None or epoch < epochs:
            for lane in lanes:  # a lane may play a recording again in a new epoch: read it ahead again
                lane.requested.clear()
            schedule = self.schedule(epoch)
            plans = [schedule[lane] for lane in self.lanes]
            ends = [self._schedule.ends(plan) for plan in plans]
            n_steps = self.steps_in_epoch(epoch)
            for first_step in range(step, n_steps, steps_per_group):
                k = min(steps_per_group, n_steps - first_step)
                signal = signals.take()[:k]
                values = [
                    self._fill_lane(signal[:, row], plans[row], ends[row], first_step, lanes[row])
                    for row in range(len(self.lanes))
                ]
                group = {key: np.stack([lane[key] for lane in values], axis=1) for key in values[0]}
                steps = np.arange(first_step, first_step + k, dtype=np.int64)
                yield {"signal": signal, **group, "epoch": np.full(k, epoch, np.int64), "step": steps}
            epoch, step = epoch + 1, 0

    def _fill_lane(
        self, out: np.ndarray, plan: list[int], ends: np.ndarray, first_step: int, lane: LaneFiles
    ) -> dict[str, np.ndarray]:
        """Write the lane's windows of steps ``first_step ...`` into ``out`` ``(k, T, C)`` (with
        context, normalised; zeros for padding); return their per-window values, each ``(k,)``."""
        cfg, k = self.config, len(out)
        values = {
            "reset": np.zeros(k, np.float32),
            "valid": np.zeros(k, np.float32),
            "label": np.full(k, NO_LABEL, np.int32),
            "recording_id": np.full(k, b"", object),
            "start": np.full(k, -1, np.int64),
            "length": np.zeros(k, np.int32),
        }
        done = 0
        while done < k:
            slot, window = self._schedule.locate(plan, first_step + done, ends)
            if slot is None:  # the lane has played its recordings: padding to the epoch's end
                out[done:] = 0
                break
            rec_index = plan[slot]
            rec = self.recordings[rec_index]
            lane.enter(rec_index)
            count = min(k - done, int(self._n_windows[rec_index]) - window)
            for i in range(count):
                self._reader.read_window(out[done + i], plan, slot, window + i, lane)
            windows = np.arange(window, window + count)
            starts = windows * cfg.window
            stops = np.minimum(starts + cfg.window, rec.n_samples)
            run = slice(done, done + count)
            values["reset"][run] = windows == 0
            values["valid"][run] = self._reader.validity(rec_index, lane)[window : window + count]
            values["label"][run] = self._labels_of(rec_index)[window : window + count]
            values["recording_id"][run] = rec.id.encode()
            values["start"][run] = starts
            values["length"][run] = stops - starts
            done += count
        return values

    def _labels_of(self, rec_index: int) -> np.ndarray:
        labels = self._window_labels.get(rec_index)
        if labels is None:
            labels = self._window_labels[rec_index] = self.window_labels(rec_index)
        return labels
