"""The recording store: one HDF5 file per recording.

Layout of a store file (format ``eegseq-store/1``):

* dataset ``signal``: float32 ``(n_samples, n_channels)``, time first, µV, chunked along time
  in blocks of ``chunk_samples`` rows (all channels in a chunk) so that a window or block read
  touches few, large, contiguous chunks;
* dataset ``valid``: uint8 ``(n_samples,)``, 1 where the sample is usable, 0 inside an
  electrode drop-out (a run of exact zeros on every channel of at least ``min_dropout_samples``);
* attributes: ``format``, ``recording_id``, ``sfreq`` (Hz), ``channels``, ``units`` ("uV"),
  ``source`` (path or description), ``source_sha256``, ``label`` (int, -1 = none),
  ``events`` (JSON list of ``{"onset", "duration", "eventType"}`` in seconds, BIDS columns),
  ``meta`` (JSON object).

Files are built in memory and written atomically (:mod:`eegseq.files`), so a store file at its final
name is always whole; a failed write (a full disk: :class:`OSError` ``ENOSPC``) leaves no temporary file.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from eegseq.data.errors import RecordingError
from eegseq.data.recording import Event, Recording
from eegseq.files import atomic_write_bytes

STORE_FORMAT = "eegseq-store/1"
STORE_SUFFIX = ".h5"
DEFAULT_CHUNK_SAMPLES = 65_536
DEFAULT_MIN_DROPOUT_SECONDS = 0.25
READ_AHEAD_PIECE_BYTES = 2 << 20
_NO_LABEL = -1
_REQUIRED_ATTRS = (
    "format",
    "recording_id",
    "sfreq",
    "channels",
    "units",
    "source",
    "source_sha256",
    "label",
    "events",
    "meta",
)


def dropout_valid_mask(signal: np.ndarray, min_run_samples: int) -> np.ndarray:
    """Per-sample validity of ``signal`` ``(n_samples, n_channels)``.

    Returns:
        bool ``(n_samples,)``: False inside runs of at least ``min_run_samples`` consecutive
        samples that are exactly zero on every channel (electrode drop-outs), True elsewhere.
    """
    all_zero = ~np.any(signal != 0, axis=1)
    edges = np.diff(np.concatenate(([0], all_zero.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    valid = np.ones(signal.shape[0], dtype=bool)
    for start, stop in zip(starts, stops):
        if stop - start >= min_run_samples:
            valid[start:stop] = False
    return valid


def write_store(
    recording: Recording,
    path: str | os.PathLike,
    *,
    recording_id: str,
    source_sha256: str,
    min_dropout_samples: int | None = None,
    chunk_samples: int = DEFAULT_CHUNK_SAMPLES,
) -> Path:
    """Write ``recording`` to the store file ``path`` atomically.

    Args:
        recording: the recording; its signal must be finite and not entirely drop-out.
        path: destination ``.h5`` file; its folder must exist.
        recording_id: the manifest id of the recording.
        source_sha256: SHA-256 of the source the recording came from (used to resume ingests).
        min_dropout_samples: shortest all-zero run counted as a drop-out; default 0.25 s of samples.
        chunk_samples: HDF5 chunk length along time, samples.

    Returns:
        The final path.

    Raises:
        RecordingError: non-finite samples, or no valid sample at all (naming ``recording.source``).
    """
    path = Path(path)
    signal = np.ascontiguousarray(recording.signal, dtype=np.float32)
    if signal.shape[0] == 0:
        raise RecordingError("recording has no samples", path=recording.source or recording_id)
    finite = np.isfinite(signal)
    if not finite.all():
        bad_sample, bad_channel = np.argwhere(~finite)[0]
        raise RecordingError(
            f"{int((~finite).sum())} NaN/inf samples (first at sample {bad_sample}, channel "
            f"{recording.channels[bad_channel]!r}); expected finite values",
            path=recording.source or recording_id,
        )
    if min_dropout_samples is None:
        min_dropout_samples = max(1, int(round(DEFAULT_MIN_DROPOUT_SECONDS * recording.sfreq)))
    valid = dropout_valid_mask(signal, min_dropout_samples)
    if not valid.any():
        raise RecordingError(
            "every sample is zero on every channel (all drop-out); nothing to store",
            path=recording.source or recording_id,
        )

    # HDF5 builds the file in memory and Python writes it: HDF5 writing to a full disk raises at close
    # (RuntimeError, not OSError), leaves its file behind and can crash the process.
    image = io.BytesIO()
    with h5py.File(image, "w") as f:
        f.create_dataset("signal", data=signal, chunks=(min(chunk_samples, signal.shape[0]), signal.shape[1]))
        f.create_dataset("valid", data=valid.astype(np.uint8), chunks=(min(1 << 20, valid.size),), compression="gzip")
        f.attrs.update(
            {
                "format": STORE_FORMAT,
                "recording_id": recording_id,
                "sfreq": float(recording.sfreq),
                "channels": list(recording.channels),
                "units": "uV",
                "source": recording.source,
                "source_sha256": source_sha256,
                "label": _NO_LABEL if recording.label is None else int(recording.label),
                "events": json.dumps(
                    [{"onset": e.onset, "duration": e.duration, "eventType": e.label} for e in recording.events]
                ),
                "meta": json.dumps(recording.meta, sort_keys=True),
            }
        )
    atomic_write_bytes(path, image.getbuffer())
    return path


class StoreReader:
    """Read-only access to one store file; reads ``[start, stop)`` sample blocks.

    Use as a context manager or call :meth:`close`. Header facts are read once on opening.

    Raises:
        RecordingError: the file is missing, not HDF5, truncated, or not an eegseq store
            (the message names the file).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self._file = h5py.File(self.path, "r")
        except (OSError, ValueError) as exc:
            raise RecordingError(f"cannot open as an HDF5 store file ({exc})", path=self.path) from exc
        try:
            attrs = self._file.attrs
            missing = [name for name in _REQUIRED_ATTRS if name not in attrs]
            missing += [name for name in ("signal", "valid") if name not in self._file]
            if missing:
                raise RecordingError(f"not an eegseq store: missing {', '.join(missing)}", path=self.path)
            if attrs["format"] != STORE_FORMAT:
                raise RecordingError(f"store format {attrs['format']!r}, expected {STORE_FORMAT!r}", path=self.path)
            self._signal = self._file["signal"]
            self._valid = self._file["valid"]
            self.n_samples, self.n_channels = (int(d) for d in self._signal.shape)
            self._rows_per_chunk = int(self._signal.chunks[0])  # h5py's property costs µs per read
            # chunk bytes are the float32 samples themselves: they can be read without HDF5
            self._raw_chunks = (
                self._signal.dtype == np.dtype(np.float32) and not self._signal.id.get_create_plist().get_nfilters()
            )
            self._chunk_offsets: dict[int, int] | None = None  # first sample -> byte offset; on the first raw read
            self.recording_id = str(attrs["recording_id"])
            self.sfreq = float(attrs["sfreq"])
            self.channels = tuple(str(c) for c in attrs["channels"])
            self.units = str(attrs["units"])
            self.source = str(attrs["source"])
            self.source_sha256 = str(attrs["source_sha256"])
            label = int(attrs["label"])
            self.label: int | None = None if label == _NO_LABEL else label
            self.events = [
                Event(float(e["onset"]), float(e["duration"]), str(e["eventType"])) for e in json.loads(attrs["events"])
            ]
            self.meta = json.loads(attrs["meta"])
        except RecordingError:
            self._file.close()
            raise
        except (OSError, KeyError, ValueError, TypeError) as exc:
            self._file.close()
            raise RecordingError(f"corrupt store header ({exc})", path=self.path) from exc

    def read(self, start: int, stop: int, *, out: np.ndarray | None = None) -> np.ndarray:
        """Samples ``[start, stop)``, float32 ``(stop - start, n_channels)``, µV.

        ``out``: a C-contiguous float32 array of that shape to read into (e.g. a reused buffer,
        so that a stream does not fault in fresh pages for every block); returned. Into ``out``,
        unfiltered chunks are read with ``os.preadv``, which releases the GIL (HDF5 reads hold
        it: a streaming thread would stall the training loop for a whole block).
        """
        if out is None or not self._raw_chunks:
            return self._read(self._signal, start, stop, out, "samples")
        self._check_range(start, stop)
        if out.shape != (stop - start, self.n_channels) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(
                f"out must be C-contiguous float32 {(stop - start, self.n_channels)}, got {out.dtype} {out.shape}"
            )
        target = out.reshape(-1).view(np.uint8)
        fd = self._file.id.get_vfd_handle()
        try:
            for first, file_offset, size in self._spans(start, stop):
                into = (first - start) * self.n_channels * 4
                if os.preadv(fd, [target[into : into + size]], file_offset) != size:
                    raise OSError(f"file ends inside the chunk holding sample {first}")
        except OSError as exc:
            raise RecordingError(f"cannot read samples {start}:{stop} ({exc})", path=self.path) from exc
        return out

    def read_valid(self, start: int, stop: int, *, out: np.ndarray | None = None) -> np.ndarray:
        """Validity of samples ``[start, stop)``, bool ``(stop - start,)`` (False = drop-out);
        ``out`` as for :meth:`read`, bool."""
        stored = None if out is None else out.view(np.uint8)  # stored as uint8 0/1: same bytes as bool
        return self._read(self._valid, start, stop, stored, "validity").view(bool)

    def read_ahead(self, start: int, stop: int) -> None:
        """Ask the operating system to load samples ``[start, stop)`` into its page cache in the
        background (``posix_fadvise(WILLNEED)``; no-op where unsupported), so that a later
        :meth:`read` of them does not wait for the disk."""
        self._check_range(start, stop)
        if stop == start or not hasattr(os, "posix_fadvise"):
            return
        fd = self._file.id.get_vfd_handle()
        for _, file_offset, size in self._spans(start, stop):
            end = file_offset + size
            # Linux reads at most the device's read-ahead size per request and silently drops
            # read-ahead under load: 4 MiB chunks advised whole were found half read, 2 MiB pieces whole.
            for piece in range(file_offset, end, READ_AHEAD_PIECE_BYTES):
                os.posix_fadvise(fd, piece, min(READ_AHEAD_PIECE_BYTES, end - piece), os.POSIX_FADV_WILLNEED)

    def _spans(self, start: int, stop: int) -> Iterator[tuple[int, int, int]]:
        """For each signal chunk overlapping samples ``[start, stop)``: (first sample of the
        overlap, its byte offset in the file, its bytes). Store signals are chunked along time
        only (:func:`write_store`), so each overlap is one contiguous run of bytes.

        HDF5's chunk index is read once per open file: a lookup per chunk costs microseconds with
        the GIL held, and a stream reads every window through here.

        Raises:
            RecordingError: a chunk in the range was never written.
        """
        if self._chunk_offsets is None:
            dataset = self._signal.id
            infos = (dataset.get_chunk_info(i) for i in range(dataset.get_num_chunks()))
            self._chunk_offsets = {int(info.chunk_offset[0]): int(info.byte_offset) for info in infos}
        rows, row_bytes = self._rows_per_chunk, self.n_channels * 4
        for chunk_start in range(start // rows * rows, stop, rows):
            if chunk_start not in self._chunk_offsets:
                raise RecordingError(
                    f"no stored data for samples from {chunk_start} (chunk never written)", path=self.path
                )
            first, last = max(start, chunk_start), min(stop, chunk_start + rows)
            yield (
                first,
                self._chunk_offsets[chunk_start] + (first - chunk_start) * row_bytes,
                (last - first) * row_bytes,
            )

    def _read(self, dataset: h5py.Dataset, start: int, stop: int, out: np.ndarray | None, what: str) -> np.ndarray:
        self._check_range(start, stop)
        try:
            if out is None:
                return dataset[start:stop]
            dataset.read_direct(out, np.s_[start:stop])
            return out
        except (OSError, ValueError, TypeError) as exc:
            raise RecordingError(f"cannot read {what} {start}:{stop} ({exc})", path=self.path) from exc

    def to_recording(self) -> Recording:
        """The whole stored recording in memory."""
        return Recording(
            signal=self.read(0, self.n_samples),
            sfreq=self.sfreq,
            channels=self.channels,
            events=list(self.events),
            label=self.label,
            source=self.source,
            meta=dict(self.meta),
        )

    def _check_range(self, start: int, stop: int) -> None:
        if not 0 <= start <= stop <= self.n_samples:
            raise IndexError(f"{self.path}: range [{start}, {stop}) outside [0, {self.n_samples})")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def store_fingerprint(path: str | os.PathLike) -> dict:
    """What identifies a store file's content without reading it all: its recorded source SHA-256 and its
    size and modification time (a store file is only ever replaced whole, by a rename, so a rewrite changes
    them). JSON values; for keying results computed from store files (e.g. normalisation statistics)."""
    stat = os.stat(path)
    return {"source_sha256": stored_source_sha256(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def stored_source_sha256(path: str | os.PathLike) -> str | None:
    """The ``source_sha256`` recorded in the store file ``path``, or None if the file is missing
    or not a readable store (so that an ingest rewrites it)."""
    if not Path(path).is_file():
        return None
    try:
        with StoreReader(path) as reader:
            return reader.source_sha256
    except RecordingError:
        return None
