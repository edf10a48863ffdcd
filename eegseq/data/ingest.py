"""Ingest: turn a manifest, a dataset folder or a synthetic spec into a store plus its manifest.

The store folder receives one ``<id>.h5`` per recording (:mod:`eegseq.data.store`), a
``manifest.csv`` describing the store (paths relative to the store folder, ``sha256`` = the
source's SHA-256) and ``manifest_events.csv``. Work is spread over worker processes started
with ``spawn`` (safe when TensorFlow is loaded in the parent). A recording whose store file
already exists with the same source SHA-256 is skipped, so an interrupted ingest resumes.
"""

from __future__ import annotations

import multiprocessing
import os
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
from eegseq.data.store import STORE_SUFFIX, StoreReader, stored_source_sha256, write_store
from eegseq.data.synthetic import SyntheticSpec, generate_recording

STORE_MANIFEST = "manifest.csv"
FOLDER_LAYOUTS = ("kaggle2016", "chbmit", "tusz", "bids")


class IngestError(RuntimeError):
    """Raised by ``on_error="stop"`` at the first failure; ``report`` holds what was done so far."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class IngestReport:
    """Outcome of an ingest.

    Attributes:
        manifest: the store manifest written (None when stopped by an error).
        written: ids written in this run.
        skipped_existing: ids whose store file already held the same source SHA-256.
        failed: ``(id or file, reason)`` for every recording left out, including files the
            manifest builder could not use.
    """

    manifest: Path | None = None
    written: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Task:
    """One recording to store; plain picklable values only (sent to a spawned worker)."""

    row: ManifestRow
    store_path: str
    source_path: str | None  # None for synthetic recordings
    synthetic: tuple[str, int] | None  # (spec JSON, index)
    events: tuple[tuple[float, float, str], ...] | None  # None: keep the reader's events
    reader_options: dict
    min_dropout_samples: int | None


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
) -> IngestReport:
    """Ingest ``source`` into the store folder ``store_dir`` (created if needed).

    Args:
        source: a source manifest CSV (``layout="manifest"``; its events table, if present,
            replaces the readers' events), a dataset folder (``layout`` one of
            :data:`FOLDER_LAYOUTS`), or a :class:`SyntheticSpec` (generated straight into the store).
        data_root: root of a manifest's paths (default: the manifest's folder) or of a folder's
            manifest paths (default: the folder).
        split: split assignment for folders and synthetic specs (builders' defaults if None).
        safe_labels: Kaggle 2016 safe list CSV (``layout="kaggle2016"`` only).
        reader_options: keyword options for :func:`eegseq.data.readers.read_recording`
            (``channels``, ``target_sfreq``, ``resample``, ``n_channels``).
        workers: worker processes; ``<= 1`` runs in this process.
        progress: show a tqdm progress bar.
        on_error: ``"skip"`` reports a failed recording and goes on; ``"stop"`` raises
            :class:`IngestError` at the first failure (store files already written stay whole).
        min_dropout_samples: shortest all-zero run marked invalid in the store (default 0.25 s).

    Returns:
        The :class:`IngestReport`; the store manifest lists every recording now in the store.
    """
    if on_error not in ("skip", "stop"):
        raise ValueError(f"on_error must be 'skip' or 'stop', got {on_error!r}")
    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    report = IngestReport()
    tasks = _plan_tasks(source, store_dir, layout, data_root, split, safe_labels, reader_options or {},
                        min_dropout_samples, report, on_error)
    done: list[tuple[ManifestRow, list[Event]]] = []
    pending = []
    for task in tasks:
        if stored_source_sha256(task.store_path) == task.row.sha256:
            report.skipped_existing.append(task.row.id)
            done.append(_stored_row(task))
        else:
            pending.append(task)

    outcomes = _run(pending, workers)
    try:
        with tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc="ingest", unit="rec",
                  disable=not progress) as bar:
            for task, outcome in outcomes:
                bar.update()
                if isinstance(outcome, str):
                    report.failed.append((task.row.id, outcome))
                    if on_error == "stop":
                        raise IngestError(f"ingest stopped at {task.row.id}: {outcome}", report)
                else:
                    report.written.append(task.row.id)
                    done.append(outcome)
    finally:
        outcomes.close()  # on a stop: cancel queued recordings, wait for those in flight

    done.sort(key=lambda item: item[0].id)
    report.manifest = BuiltManifest([row for row, _ in done], {row.id: ev for row, ev in done}).write(
        store_dir / STORE_MANIFEST
    )
    return report


def _plan_tasks(source, store_dir: Path, layout: str, data_root, split: SplitSpec | None, safe_labels,
                reader_options: dict, min_dropout_samples: int | None, report: IngestReport,
                on_error: str) -> list[_Task]:
    """Rows to store as tasks; rows that cannot even be located are reported (or stop the ingest)."""
    split_kw = {} if split is None else {"split": split}
    if isinstance(source, SyntheticSpec):
        built = build_synthetic_manifest(source, **split_kw)
        spec_json = source.model_dump_json()
        return [_Task(row, str(store_dir / f"{row.id}{STORE_SUFFIX}"), None, (spec_json, i), None, {},
                      min_dropout_samples) for i, row in enumerate(built.rows)]
    source = Path(source)
    if layout == "manifest":
        rows = read_manifest(source)
        root = source.parent if data_root is None else Path(data_root)
        table = events_path_for(source)
        events = read_events(table, [r.id for r in rows]) if table.is_file() else None
    elif layout in FOLDER_LAYOUTS:
        builders = {"kaggle2016": build_kaggle2016_manifest, "chbmit": build_chbmit_manifest,
                    "tusz": build_tusz_manifest, "bids": build_bids_manifest}
        extra = {"safe_labels": safe_labels} if layout == "kaggle2016" and safe_labels is not None else {}
        built = builders[layout](source, data_root=data_root, **split_kw, **extra)
        root = source if data_root is None else Path(data_root)
        rows, events = built.rows, built.events
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
        tasks.append(_Task(row, str(store_dir / f"{row.id}{STORE_SUFFIX}"), str(path), None, row_events,
                           reader_options, min_dropout_samples))
    return tasks


def _fail(report: IngestReport, what: str, reason: str, on_error: str) -> None:
    report.failed.append((what, reason))
    if on_error == "stop":
        raise IngestError(f"ingest stopped at {what}: {reason}", report)


def _run(tasks: list[_Task], workers: int):
    """Yield ``(task, outcome)`` as tasks finish; outcome is a reason string on failure."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, _store_one(task)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context)
    try:
        futures: dict[Future, _Task] = {pool.submit(_store_one, task): task for task in tasks}
        remaining = set(futures)
        while remaining:
            finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in finished:
                yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _store_one(task: _Task) -> tuple[ManifestRow, list[Event]] | str:
    """Worker: read or generate one recording, check it against its row, write its store file.

    Returns the store row and events, or the reason it failed (never raises for bad input).
    """
    row = task.row
    try:
        if task.synthetic is not None:
            spec_json, index = task.synthetic
            recording = generate_recording(SyntheticSpec.model_validate_json(spec_json), index)
        else:
            from eegseq.data.readers import read_recording  # lazy: keeps MNE out of synthetic-only workers

            if not Path(task.source_path).is_file():
                return f"{task.source_path}: file does not exist"
            actual = sha256_file(task.source_path)
            if actual != row.sha256:
                return f"{task.source_path}: checksum mismatch: manifest {row.sha256}, file {actual}"
            recording = read_recording(task.source_path, **task.reader_options)
            if task.events is not None:
                recording.events = [Event(*event) for event in task.events]
        _check_against_row(recording, row, task)
        if row.label is not None:
            recording.label = row.label
        write_store(recording, task.store_path, recording_id=row.id, source_sha256=row.sha256,
                    min_dropout_samples=task.min_dropout_samples)
    except (RecordingError, OSError) as exc:
        return str(exc)
    return _store_row(row, recording.sfreq, recording.n_channels, recording.n_samples, recording.label), \
        list(recording.events)


def _check_against_row(recording: Recording, row: ManifestRow, task: _Task) -> None:
    where = task.source_path or row.id
    if row.n_channels is not None and recording.n_channels != row.n_channels:
        raise RecordingError(f"{recording.n_channels} channels, manifest row {row.id!r} says {row.n_channels}",
                             path=where)
    if task.reader_options.get("target_sfreq") is None:
        if row.sfreq is not None and abs(recording.sfreq - row.sfreq) > 1e-6 * row.sfreq:
            raise RecordingError(f"sampling rate {recording.sfreq} Hz, manifest row {row.id!r} says {row.sfreq}",
                                 path=where)
        if row.n_samples is not None and recording.n_samples != row.n_samples:
            raise RecordingError(f"{recording.n_samples} samples, manifest row {row.id!r} says {row.n_samples}",
                                 path=where)


def _store_row(row: ManifestRow, sfreq: float, n_channels: int, n_samples: int, label: int | None) -> ManifestRow:
    return row.model_copy(update={"path": f"{row.id}{STORE_SUFFIX}", "label": label, "sfreq": sfreq,
                                  "n_channels": n_channels, "n_samples": n_samples})


def _stored_row(task: _Task) -> tuple[ManifestRow, list[Event]]:
    with StoreReader(task.store_path) as store:
        return _store_row(task.row, store.sfreq, store.n_channels, store.n_samples, store.label), list(store.events)
