"""Reading a lane stream's windows from store files.

Each window is read with its context straight from the page cache into its slot of the batch
(``os.preadv`` of the stored chunks: no GIL held, no intermediate buffer) and normalised there
while it is still in the CPU cache: every sample is copied once. Disk I/O is still issued in
large blocks: each lane asks the OS to read ``block_samples`` ahead of the window it plays
(``posix_fadvise(WILLNEED)``), and the first block of its next recording before the current one
ends.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eegseq.data.normalisation import ChannelStats
from eegseq.data.recording import Event
from eegseq.data.store import StoreReader


@dataclass(frozen=True)
class StoredRecording:
    """What the stream keeps of a store file: its id, path, length in samples, label, events, rate (Hz)."""

    id: str
    path: Path
    n_samples: int
    label: int | None
    events: tuple[Event, ...]
    sfreq: float


def read_recordings(stores: Sequence[str | os.PathLike]) -> tuple[list[StoredRecording], tuple[str, ...]]:
    """The recordings of ``stores`` and their one channel order; an error naming the first file
    whose channels differ, or duplicate recording ids."""
    if not stores:
        raise ValueError("a lane stream needs at least one store file")
    recordings, channels = [], None
    for path in stores:
        with StoreReader(path) as store:
            if channels is None:
                channels = store.channels
            elif store.channels != channels:
                raise ValueError(f"{path}: channels {store.channels} differ from {channels} of {stores[0]}")
            recordings.append(
                StoredRecording(
                    store.recording_id, Path(path), store.n_samples, store.label, tuple(store.events), store.sfreq
                )
            )
    ids = [r.id for r in recordings]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate recording ids among the stores of a lane stream")
    return recordings, channels


@dataclass
class LaneFiles:
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


class WindowReader:
    """Reads windows of ``recordings`` with their left context, normalised, and their validity.

    Args:
        recordings: the stream's recordings (indices below refer to this list).
        window, context, block_samples: samples of a window, of its left context, of one read-ahead.
        min_valid_fraction: a window is valid when at least this fraction of its real samples are
            not drop-outs.
        stats: normalisation statistics, or None for raw µV.
    """

    def __init__(
        self,
        recordings: Sequence[StoredRecording],
        window: int,
        context: int,
        block_samples: int,
        min_valid_fraction: float,
        stats: ChannelStats | None,
    ) -> None:
        self.recordings, self.stats = recordings, stats
        self.window, self.context, self.block_samples = window, context, block_samples
        self.min_valid_fraction = min_valid_fraction
        self._validity: dict[int, np.ndarray] = {}  # per recording, computed on first play

    def read_window(self, out: np.ndarray, plan: list[int], slot: int, window: int, lane: LaneFiles) -> None:
        """Read window ``window`` of the lane's recording ``plan[slot]`` with its context into
        ``out`` ``(T, C)``, normalised, zeros where it lies outside the recording."""
        rec_index = plan[slot]
        rec = self.recordings[rec_index]
        start = window * self.window
        first, stop = max(0, start - self.context), min(start + self.window, rec.n_samples)
        self._read_ahead(plan, slot, first, stop, lane)
        offset = first - (start - self.context)
        samples = out[offset : offset + stop - first]
        lane.reader(rec_index, rec.path).read(first, stop, out=samples)
        if self.stats is not None:
            self.stats.apply(samples, out=samples)
        out[:offset] = 0
        out[offset + len(samples) :] = 0

    def _read_ahead(self, plan: list[int], slot: int, first: int, stop: int, lane: LaneFiles) -> None:
        """Before samples ``[first, stop)`` of ``plan[slot]`` are read: keep the OS reading at
        least half a block past ``stop`` (``block_samples`` at a time), and once the recording
        is requested to its end and less than half a block of it is left, the first block of the
        lane's next recording."""
        block, rec_index = self.block_samples, plan[slot]
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

    def validity(self, rec_index: int, lane: LaneFiles) -> np.ndarray:
        """Whether each window of recording ``rec_index`` is valid, bool ``(n_windows,)``.

        Read once per recording from its whole validity mask (a byte per sample, gzip: h5py
        holds the GIL while it inflates, so not per block) and kept: a byte per window."""
        validity = self._validity.get(rec_index)
        if validity is None:
            rec, width = self.recordings[rec_index], self.window
            valid = lane.reader(rec_index, rec.path).read_valid(0, rec.n_samples)
            starts = np.arange(0, rec.n_samples, width)
            n_valid = np.add.reduceat(valid.view(np.uint8), starts, dtype=np.int64)
            lengths = np.minimum(starts + width, rec.n_samples) - starts
            validity = self._validity[rec_index] = n_valid >= self.min_valid_fraction * lengths
        return validity
