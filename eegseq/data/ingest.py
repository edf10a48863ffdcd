"""Ingest: turn a manifest, a dataset folder or a synthetic spec into a store plus its manifest.

The store folder receives one ``<id>.h5`` per recording (:mod:`eegseq.data.store`), a
``manifest.csv`` describing the store (paths relative to the store folder, ``sha256`` = the
source's SHA-256) and ``manifest_events.csv``.

Processes: work is spread over worker processes started with ``spawn`` (safe when TensorFlow is
loaded in the parent; the modules a worker imports load no TensorFlow, so it starts in about a
second). On Linux every worker asks the kernel to kill it when the ingest process dies
(``PR_SET_PDEATHSIG``), so a killed ingest leaves no worker writing. One ingest at a time may write a
store (:class:`~eegseq.data.store_lock.StoreLock`); a second is refused with
:class:`~eegseq.data.store_lock.StoreLockedError`. Under the lock, temporary files a killed ingest
left behind are deleted first.

Resuming: a recording whose store file holds the same source SHA-256, written with the same reader
options and the same events (events table rows, or annotation file size and modification time), is
skipped. Its source file is re-checked when its size or modification time differs from
what the store file recorded (re-hashed; a changed file fails with a checksum mismatch). A recording
that failed for a reason of its own (a :class:`~eegseq.data.errors.RecordingError`: corrupt, wrong
channels, events past the end, ...) is recorded in ``ingest_failures.json`` with its source's size,
modification time and SHA-256, and is not read again until one of them (or the reader options)
changes: it is reported in :attr:`IngestReport.failed_before`. Failures of the environment (I/O
errors) are retried on the next pass; a full disk stops the ingest (:class:`IngestError`).

Rates: a store holds one sampling rate. Recordings with different rates and no ``target_sfreq`` in the
reader options stop the ingest with :class:`MixedRatesError` before the manifest is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tqdm.auto import tqdm

from eegseq.data.errors import RecordingError
from eegseq.data.manifest import (
    ManifestRow,
    SplitSpec,
    events_path_for,
    read_events,
    read_manifest,
    resolve_in_root,
    sha256_file,
)
from eegseq.data.manifest_builders import (
    BuiltManifest,
    build_bids_manifest,
    build_chbmit_manifest,
    build_kaggle2016_manifest,
    build_synthetic_manifest,
    build_tusz_manifest,
)
from eegseq.data.recording import Event, Recording
from eegseq.data.store import STORE_SUFFIX, StoreReader, write_store
from eegseq.data.store_lock import StoreLock
from eegseq.data.synthetic import SyntheticSpec, generate_recording
from eegseq.files import atomic_write_json, remove_stale_temporaries

STORE_MANIFEST = "manifest.csv"
FAILURES_FILE = "ingest_failures.json"
FOLDER_LAYOUTS = ("kaggle2016", "chbmit", "tusz", "bids")
# Key of the store file's meta where the ingest records how it was made (see _Task.identity).
INGEST_META = "ingest"
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class IngestError(RuntimeError):
    """Raised by ``on_error="stop"`` at the first failure, and by a full disk; ``report`` holds what was
    done so far."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


class MixedRatesError(IngestError):
    """The recordings have different sampling rates and no ``target_sfreq`` was given."""


@dataclass
class IngestReport:
    """Outcome of an ingest.

    Attributes:
        manifest: the store manifest written (None when stopped by an error).
        written: ids written in this run.
        skipped_existing: ids whose store file already held the same source, read the same way.
        failed: ``(id or file, reason)`` for every recording left out in this run, including files the
            manifest builder could not use.
        failed_before: ``(id or file, reason)`` for recordings left out because they failed in an earlier
            run and their source has not changed since (not read again).
        warnings: ``(id, message)`` for every recording in the store that was stored with a warning
            (flat channels, events clipped at the end), this run's and earlier runs'.
    """

    manifest: Path | None = None
    written: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    failed_before: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Task:
    """One recording to store; plain picklable values only (sent to a spawned worker)."""

    row: ManifestRow
    store_path: str
    source_path: str | None  # None for synthetic recordings
    synthetic: tuple[str, int] | None  # (spec JSON, index)
    events: tuple[tuple[float, float, str], ...] | None  # None: the file's own, or its annotation file's
    reader_options: dict
    min_dropout_samples: int | None

    @property
    def options(self) -> dict:
        """What, besides the source, decides the store file's content (JSON values)."""
        return json.loads(json.dumps({"reader": self.reader_options, "min_dropout_samples": self.min_dropout_samples}))

    def source_stat(self) -> dict | None:
        """Size (bytes) and modification time (ns) of the source file, or None (synthetic or missing)."""
        if self.source_path is None or not os.path.isfile(self.source_path):
            return None
        stat = os.stat(self.source_path)
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def events_stat(self) -> list | dict | None:
        """The events the store file gets: the given ones (a manifest's events table), else the size and
        modification time of the annotation file beside the source (None when there is none)."""
        if self.events is not None:
            return [list(event) for event in self.events]
        if self.source_path is None:
            return None
        from eegseq.data.readers.annotations import find_sidecar  # lazy: only real recordings have sidecars

        sidecar = find_sidecar(Path(self.source_path))
        if sidecar is None:
            return None
        stat = os.stat(sidecar)
        return {"path": str(sidecar), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def identity(self) -> dict:
        """The source, events and options a store file (or a failure record) was made from."""
        return {
            "sha256": self.row.sha256,
            "options": self.options,
            "source": self.source_stat(),
            "events": self.events_stat(),
        }


@dataclass(frozen=True)
class _Outcome:
    """What a worker did with one task: stored (``row``, ``events``, ``warnings``) or failed (``reason``;
    ``recorded``: the recording's own fault, skipped until its source changes; ``disk_full``)."""

    row: ManifestRow | None = None
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None
    recorded: bool = False
    disk_full: bool = False


def ingest(
    source: str | os.PathLike | SyntheticSpec,
    store_dir: str | os.PathLike,
    *,
    layout: Literal["manifest", "kaggle2016", "chbmit", "tusz", "bids"] = "manifest",
    data_root: str | os.PathLike | None = None,
    split: SplitSpec | None = None,
    safe_labels: str | os.PathLike | None = None,
    reader_options: dict | None = None,
    workers: int = 2,
    progress: bool = True,
    on_error: Literal["skip", "stop"] = "skip",
    min_dropout_samples: int | None = None,
    wait_for_store: bool = False,
) -> IngestReport:
    """Ingest ``source`` into the store folder ``store_dir`` (created if needed).

    Args:
        source: a source manifest CSV (``layout="manifest"``; its events table, if present,
            replaces the readers' events), a dataset folder (``layout`` one of
            :data:`FOLDER_LAYOUTS`; events from each recording's annotation file), or a
            :class:`SyntheticSpec` (generated straight into the store).
        data_root: root of a manifest's paths (default: the manifest's folder) or of a folder's
            manifest paths (default: the folder).
        split: split assignment for folders and synthetic specs (builders' defaults if None).
        safe_labels: Kaggle 2016 safe list CSV (``layout="kaggle2016"`` only).
        reader_options: keyword options for :func:`eegseq.data.readers.read_recording`
            (``channels``, ``target_sfreq``, ``resample``, ``n_channels``, ``events_past_end``).
        workers: worker processes; ``<= 1`` runs in this process.
        progress: show a tqdm progress bar.
        on_error: ``"skip"`` reports a failed recording and goes on; ``"stop"`` raises
            :class:`IngestError` at the first failure (store files already written stay whole).
        min_dropout_samples: shortest all-zero run marked invalid in the store (default 0.25 s).
        wait_for_store: when another ingest is writing the store, wait for it (then skip what it
            stored) instead of refusing.

    Returns:
        The :class:`IngestReport`; the store manifest lists every recording now in the store.

    Raises:
        StoreLockedError: another ingest is writing this store (and ``wait_for_store`` is False).
        MixedRatesError: recordings of different rates and no ``target_sfreq``.
        IngestError: ``on_error="stop"`` and a recording failed, or the disk is full.
    """
    if on_error not in ("skip", "stop"):
        raise ValueError(f"on_error must be 'skip' or 'stop', got {on_error!r}")
    store_dir = Path(store_dir)
    with StoreLock(store_dir, wait=wait_for_store):
        remove_stale_temporaries(store_dir)  # only the lock holder may: nobody else writes here
        return _ingest_locked(
            source,
            store_dir,
            layout,
            data_root,
            split,
            safe_labels,
            reader_options or {},
            workers,
            progress,
            on_error,
            min_dropout_samples,
        )


def _ingest_locked(
    source,
    store_dir: Path,
    layout,
    data_root,
    split,
    safe_labels,
    reader_options: dict,
    workers: int,
    progress: bool,
    on_error: str,
    min_dropout_samples,
) -> IngestReport:
    report = IngestReport()
    known_failures = _read_failures(store_dir)
    failures: dict[str, dict] = {}
    tasks = _plan_tasks(
        source, store_dir, layout, data_root, split, safe_labels, reader_options, min_dropout_samples, report, on_error
    )
    for what, reason in list(report.failed):  # files the manifest builder could not use, found at every run
        failures[what] = {"reason": reason, "identity": None}
        if known_failures.get(what) == failures[what]:
            report.failed.remove((what, reason))
            report.failed_before.append((what, reason))
    done: list[tuple[ManifestRow, list[Event]]] = []
    pending = []
    for task in tasks:
        known = known_failures.get(task.row.id)
        if known is not None and known["identity"] == task.identity():
            report.failed_before.append((task.row.id, known["reason"]))
            failures[task.row.id] = known
        elif (stored := _stored_if_current(task)) is not None:
            report.skipped_existing.append(task.row.id)
            report.warnings += [(task.row.id, message) for message in stored.warnings]
            done.append((stored.row, stored.events))
        else:
            pending.append(task)

    outcomes = _run(pending, workers)
    try:
        with tqdm(
            total=len(tasks), initial=len(tasks) - len(pending), desc="ingest", unit="rec", disable=not progress
        ) as bar:
            for task, outcome in outcomes:
                bar.update()
                if outcome.disk_full:
                    raise IngestError(
                        f"ingest stopped: the disk is full ({outcome.reason}); free space and run again "
                        "(store files already written are whole and are kept)",
                        report,
                    )
                if outcome.reason is not None:
                    report.failed.append((task.row.id, outcome.reason))
                    if outcome.recorded:
                        failures[task.row.id] = {"reason": outcome.reason, "identity": task.identity()}
                    if on_error == "stop":
                        raise IngestError(f"ingest stopped at {task.row.id}: {outcome.reason}", report)
                else:
                    report.written.append(task.row.id)
                    report.warnings += [(task.row.id, message) for message in outcome.warnings]
                    done.append((outcome.row, outcome.events))
    finally:
        outcomes.close()  # on a stop: cancel queued recordings, wait for those in flight
        with contextlib.suppress(OSError):  # e.g. a full disk: without the record, failures are retried
            atomic_write_json(store_dir / FAILURES_FILE, failures)

    rates = sorted({row.sfreq for row, _ in done})
    if len(rates) > 1 and reader_options.get("target_sfreq") is None:
        examples = {rate: next(row.id for row, _ in done if row.sfreq == rate) for rate in rates}
        raise MixedRatesError(
            f"{store_dir}: recordings have different sampling rates {rates} Hz (e.g. "
            f"{', '.join(f'{rid} at {rate} Hz' for rate, rid in examples.items())}); a store holds one rate: "
            "set target_sfreq to resample them to one",
            report,
        )
    done.sort(key=lambda item: item[0].id)
    report.manifest = BuiltManifest([row for row, _ in done], {row.id: ev for row, ev in done}).write(
        store_dir / STORE_MANIFEST
    )
    return report


def _plan_tasks(
    source,
    store_dir: Path,
    layout: str,
    data_root,
    split: SplitSpec | None,
    safe_labels,
    reader_options: dict,
    min_dropout_samples: int | None,
    report: IngestReport,
    on_error: str,
) -> list[_Task]:
    """Rows to store as tasks; rows that cannot even be located are reported (or stop the ingest)."""
    split_kw = {} if split is None else {"split": split}
    if isinstance(source, SyntheticSpec):
        built = build_synthetic_manifest(source, **split_kw)
        spec_json = source.model_dump_json()
        return [
            _Task(row, str(store_dir / f"{row.id}{STORE_SUFFIX}"), None, (spec_json, i), None, {}, min_dropout_samples)
            for i, row in enumerate(built.rows)
        ]
    source = Path(source)
    if layout == "manifest":
        rows = read_manifest(source)
        root = source.parent if data_root is None else Path(data_root)
        table = events_path_for(source)
        events = read_events(table, [r.id for r in rows]) if table.is_file() else None
    elif layout in FOLDER_LAYOUTS:
        builders = {
            "kaggle2016": build_kaggle2016_manifest,
            "chbmit": build_chbmit_manifest,
            "tusz": build_tusz_manifest,
            "bids": build_bids_manifest,
        }
        extra = {"safe_labels": safe_labels} if layout == "kaggle2016" and safe_labels is not None else {}
        built = builders[layout](source, data_root=data_root, **split_kw, **extra)
        root = source if data_root is None else Path(data_root)
        # The reader takes each recording's events from its annotation file, checked against the recording.
        rows, events = built.rows, None
        for file, reason in built.problems:
            _fail(report, file, reason, on_error)
    else:
        raise ValueError(f"layout must be 'manifest' or one of {FOLDER_LAYOUTS}, got {layout!r}")

    tasks = []
    for row in rows:
        try:
            path = resolve_in_root(root, row.path)
        except ValueError as exc:
            _fail(report, row.id, str(exc), on_error)
            continue
        row_events = None if events is None else tuple((e.onset, e.duration, e.label) for e in events.get(row.id, []))
        tasks.append(
            _Task(
                row,
                str(store_dir / f"{row.id}{STORE_SUFFIX}"),
                str(path),
                None,
                row_events,
                reader_options,
                min_dropout_samples,
            )
        )
    return tasks


def _fail(report: IngestReport, what: str, reason: str, on_error: str) -> None:
    report.failed.append((what, reason))
    if on_error == "stop":
        raise IngestError(f"ingest stopped at {what}: {reason}", report)


def _run(tasks: list[_Task], workers: int):
    """Yield ``(task, outcome)`` as tasks finish."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, _store_one(task)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
    )
    try:
        futures: dict[Future, _Task] = {pool.submit(_store_one, task): task for task in tasks}
        remaining = set(futures)
        while remaining:
            finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in finished:
                yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: be killed when the ingest process dies (Linux ``PR_SET_PDEATHSIG``), so that a
    killed ingest leaves no worker writing its store; exit at once if it already died."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _store_one(task: _Task) -> _Outcome:
    """Worker: read or generate one recording, check it against its row, write its store file.

    Never raises for bad input or I/O errors: the outcome says what failed.
    """
    row = task.row
    try:
        if task.synthetic is not None:
            spec_json, index = task.synthetic
            recording = generate_recording(SyntheticSpec.model_validate_json(spec_json), index)
        else:
            from eegseq.data.readers import read_recording  # lazy: keeps MNE out of synthetic-only workers

            if not Path(task.source_path).is_file():
                return _Outcome(reason=f"{task.source_path}: file does not exist")
            actual = sha256_file(task.source_path)
            if actual != row.sha256:
                return _Outcome(
                    reason=f"{task.source_path}: checksum mismatch: manifest {row.sha256}, file {actual}", recorded=True
                )
            annotations = "auto" if task.events is None else [Event(*event) for event in task.events]
            recording = read_recording(task.source_path, annotations=annotations, **task.reader_options)
        _check_against_row(recording, row, task)
        if row.label is not None:
            recording.label = row.label
        recording.meta[INGEST_META] = task.identity()
        write_store(
            recording,
            task.store_path,
            recording_id=row.id,
            source_sha256=row.sha256,
            min_dropout_samples=task.min_dropout_samples,
        )
    except RecordingError as exc:
        return _Outcome(reason=str(exc), recorded=True)
    except OSError as exc:
        return _Outcome(reason=f"{task.store_path}: {exc}", disk_full=exc.errno in _DISK_FULL)
    return _Outcome(_store_row(row, recording), list(recording.events), list(recording.meta.get("warnings", [])))


def _check_against_row(recording: Recording, row: ManifestRow, task: _Task) -> None:
    where = task.source_path or row.id
    if row.n_channels is not None and recording.n_channels != row.n_channels:
        raise RecordingError(
            f"{recording.n_channels} channels, manifest row {row.id!r} says {row.n_channels}", path=where
        )
    if task.reader_options.get("target_sfreq") is None:
        if row.sfreq is not None and abs(recording.sfreq - row.sfreq) > 1e-6 * row.sfreq:
            raise RecordingError(
                f"sampling rate {recording.sfreq} Hz, manifest row {row.id!r} says {row.sfreq}", path=where
            )
        if row.n_samples is not None and recording.n_samples != row.n_samples:
            raise RecordingError(
                f"{recording.n_samples} samples, manifest row {row.id!r} says {row.n_samples}", path=where
            )


def _store_row(row: ManifestRow, recording: Recording | StoreReader) -> ManifestRow:
    return row.model_copy(
        update={
            "path": f"{row.id}{STORE_SUFFIX}",
            "label": recording.label,
            "sfreq": recording.sfreq,
            "n_channels": recording.n_channels,
            "n_samples": recording.n_samples,
        }
    )


def _stored_if_current(task: _Task) -> _Outcome | None:
    """The stored outcome of ``task`` when its store file was made from the same source and options, the
    source re-hashed if its size or modification time changed since; else None (store it again)."""
    if not os.path.isfile(task.store_path):
        return None
    try:
        with StoreReader(task.store_path) as store:
            made_from = store.meta.get(INGEST_META, {})
            current = task.identity()
            if (
                store.source_sha256 != task.row.sha256
                or made_from.get("options") != current["options"]
                or made_from.get("events") != current["events"]
            ):
                return None
            if made_from.get("source") != current["source"] and sha256_file(task.source_path) != task.row.sha256:
                return None  # the source changed after it was stored: the worker reports the mismatch
            return _Outcome(_store_row(task.row, store), list(store.events), list(store.meta.get("warnings", [])))
    except (RecordingError, OSError):
        return None


def _read_failures(store_dir: Path) -> dict[str, dict]:
    """``{id: {"reason", "identity"}}`` of the recordings that failed in earlier runs (see the module)."""
    path = store_dir / FAILURES_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}  # unreadable: every recording is tried again
