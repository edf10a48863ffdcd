"""Manifests: the table of a dataset's recordings, its companion events table, validation and splits.

A manifest is a CSV file with the columns of :data:`MANIFEST_COLUMNS`, one recording a row
(schema: :class:`ManifestRow`, documented in ``data_manifest/README.md``). ``path`` is
relative to a data root and may not leave it. ``sha256`` is the SHA-256 of the recording's
*source*: of the file itself for a source manifest; carried over into the store (and its
manifest) by the ingest, so that a store file can be checked against its source.

Events live in a companion CSV with the BIDS/SzCORE columns of :data:`EVENT_COLUMNS`
(onset and duration in seconds).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from eegseq.data.recording import Event
from eegseq.data.store import STORE_SUFFIX, stored_source_sha256
from eegseq.files import atomic_path

SPLITS = ("train", "val", "test")
MANIFEST_COLUMNS = ("id", "path", "sha256", "subject", "group", "split", "label", "sfreq", "n_channels", "n_samples")
EVENT_COLUMNS = ("recording_id", "onset", "duration", "eventType")


class ManifestError(ValueError):
    """A manifest or events table breaks its schema; the message names file, row and column.

    Attributes:
        file: the manifest file; row: 1-based data row (header excluded) or None; column: or None.
    """

    def __init__(self, message: str, *, file: str | os.PathLike, row: int | None = None, column: str | None = None):
        self.file, self.row, self.column = os.fspath(file), row, column
        where = self.file + (f", row {row}" if row is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


class ManifestRow(BaseModel):
    """One recording of a manifest. Empty CSV cells of optional columns read as None."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="unique recording id; also the store file stem"
    )
    path: str = Field(min_length=1, description="file path relative to the data root, '/'-separated")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the recording's source")
    subject: str = Field(min_length=1, description="subject / patient")
    group: str = Field(min_length=1, description="unit of splitting finer than subject, e.g. a one-hour series")
    split: Literal["train", "val", "test"]
    label: int | None = Field(None, description="recording-level label, e.g. 1 preictal / 0 interictal")
    sfreq: float | None = Field(None, gt=0, description="sampling rate, Hz")
    n_channels: int | None = Field(None, ge=1)
    n_samples: int | None = Field(None, ge=1)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if Path(value).is_absolute() or value.startswith(("/", "\\")):
            raise ValueError("must be relative to the data root, got an absolute path")
        if ".." in Path(value).parts:
            raise ValueError("must stay inside the data root, '..' is not allowed")
        return value


class EventRow(BaseModel):
    """One row of an events table (BIDS/SzCORE columns); onset and duration in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recording_id: str = Field(min_length=1)
    onset: float = Field(ge=0, allow_inf_nan=False)
    duration: float = Field(ge=0, allow_inf_nan=False)
    eventType: str = Field(  # noqa: N815 (the column name of the events table and BIDS)
        min_length=1, description="e.g. 'sz', 'sz_foc_ia', 'bckg'"
    )


class SplitSpec(BaseModel):
    """How recordings are assigned to splits: whole subjects or groups, shuffled by ``seed``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    by: Literal["subject", "group"] = "group"
    fractions: dict[Literal["train", "val", "test"], float] = Field(
        default_factory=lambda: {"train": 0.7, "val": 0.15, "test": 0.15}
    )


def sha256_file(path: str | os.PathLike, block_bytes: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes, read in ``block_bytes`` blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()


def resolve_in_root(data_root: str | os.PathLike, relative: str) -> Path:
    """``data_root / relative`` with symlinks resolved; ValueError if it escapes ``data_root``."""
    root = Path(data_root).resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise ValueError(f"path {relative!r} resolves to {target}, outside the data root {root}")
    return target


def read_manifest(csv_path: str | os.PathLike) -> list[ManifestRow]:
    """Read and schema-check a manifest CSV (columns, types, unique ids, known splits).

    Raises:
        ManifestError: naming the file, the 1-based data row and the column at fault.
    """
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in MANIFEST_COLUMNS if c not in header]
        if missing:
            raise ManifestError(
                f"missing column(s) {missing}; expected {list(MANIFEST_COLUMNS)}", file=csv_path, column=missing[0]
            )
        unknown = [c for c in header if c not in MANIFEST_COLUMNS]
        if unknown:
            raise ManifestError(f"unknown column(s) {unknown}", file=csv_path, column=unknown[0])
        rows: list[ManifestRow] = []
        first_row_of: dict[str, int] = {}
        for number, raw in enumerate(reader, start=1):
            values = {k: (v if v != "" else None) for k, v in raw.items() if k is not None}
            row = _validated(ManifestRow, values, csv_path, number)
            if row.id in first_row_of:
                raise ManifestError(
                    f"duplicate id {row.id!r} (first in row {first_row_of[row.id]})",
                    file=csv_path,
                    row=number,
                    column="id",
                )
            first_row_of[row.id] = number
            rows.append(row)
    return rows


def check_files(
    rows: Sequence[ManifestRow],
    data_root: str | os.PathLike,
    *,
    manifest: str | os.PathLike = "<manifest>",
    verify_checksums: bool = False,
) -> list[Path]:
    """Check every row's file: inside ``data_root`` (after resolving symlinks), present, and,
    when ``verify_checksums``, matching ``sha256`` (a store file's recorded source SHA-256, any
    other file's own bytes).

    Returns:
        The resolved absolute paths, in row order.

    Raises:
        ManifestError: naming ``manifest``, the row and the ``path`` or ``sha256`` column.
    """
    resolved = []
    for number, row in enumerate(rows, start=1):
        try:
            path = resolve_in_root(data_root, row.path)
        except ValueError as exc:
            raise ManifestError(str(exc), file=manifest, row=number, column="path") from None
        if not path.is_file():
            raise ManifestError(f"file {path} does not exist", file=manifest, row=number, column="path")
        if verify_checksums:
            actual = source_sha256_of(path)
            if actual != row.sha256:
                raise ManifestError(
                    f"checksum mismatch for {path}: manifest {row.sha256}, file {actual}",
                    file=manifest,
                    row=number,
                    column="sha256",
                )
        resolved.append(path)
    return resolved


def source_sha256_of(path: str | os.PathLike) -> str:
    """The source SHA-256 a file stands for: the recorded one for a store file, else its bytes' hash."""
    recorded = stored_source_sha256(path) if Path(path).suffix == STORE_SUFFIX else None
    return recorded if recorded is not None else sha256_file(path)


def load_manifest(
    csv_path: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    *,
    verify_checksums: bool = False,
) -> list[ManifestRow]:
    """Read a manifest and check its files under ``data_root`` (default: the manifest's folder)."""
    rows = read_manifest(csv_path)
    check_files(
        rows,
        Path(csv_path).parent if data_root is None else data_root,
        manifest=csv_path,
        verify_checksums=verify_checksums,
    )
    return rows


def write_manifest(rows: Iterable[ManifestRow], csv_path: str | os.PathLike) -> Path:
    """Write rows to ``csv_path`` atomically (temporary file in the same folder, then rename)."""
    return _write_csv(csv_path, MANIFEST_COLUMNS, ([_cell(getattr(row, c)) for c in MANIFEST_COLUMNS] for row in rows))


def events_path_for(manifest_path: str | os.PathLike) -> Path:
    """The companion events table of a manifest: ``<stem>_events.csv`` beside it."""
    path = Path(manifest_path)
    return path.with_name(f"{path.stem}_events.csv")


def write_events(events: Mapping[str, Sequence[Event]], csv_path: str | os.PathLike) -> Path:
    """Write ``{recording_id: events}`` as an events table (sorted by id, then onset), atomically."""
    lines = (
        [rid, repr(e.onset), repr(e.duration), e.label]
        for rid in sorted(events)
        for e in sorted(events[rid], key=lambda e: (e.onset, e.label))
    )
    return _write_csv(csv_path, EVENT_COLUMNS, lines)


def read_events(csv_path: str | os.PathLike, known_ids: Iterable[str] | None = None) -> dict[str, list[Event]]:
    """Read an events table into ``{recording_id: [Event, ...]}``.

    Raises:
        ManifestError: a missing column, a row breaking :class:`EventRow`, or (when
            ``known_ids`` is given) a recording id that is not in the manifest.
    """
    known = None if known_ids is None else set(known_ids)
    events: dict[str, list[Event]] = defaultdict(list)
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in EVENT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(
                f"missing column(s) {missing}; expected {list(EVENT_COLUMNS)}", file=csv_path, column=missing[0]
            )
        for number, raw in enumerate(reader, start=1):
            row = _validated(EventRow, {c: raw[c] for c in EVENT_COLUMNS}, csv_path, number)
            if known is not None and row.recording_id not in known:
                raise ManifestError(
                    f"recording id {row.recording_id!r} is not in the manifest",
                    file=csv_path,
                    row=number,
                    column="recording_id",
                )
            events[row.recording_id].append(Event(row.onset, row.duration, row.eventType))
    return dict(events)


def assign_splits(rows: Sequence[ManifestRow], spec: SplitSpec) -> list[ManifestRow]:
    """Assign whole subjects or groups (``spec.by``) to splits, never single recordings.

    Units (sorted, then shuffled with ``numpy.random.default_rng(spec.seed)``) are cut by
    ``spec.fractions`` (largest remainder); every split with a positive fraction gets at least
    one unit when there are enough units.

    Returns:
        New rows with ``split`` set, in the input order.
    """
    fractions = {s: f for s, f in spec.fractions.items() if f > 0}
    if not fractions:
        raise ValueError("SplitSpec.fractions: at least one split needs a positive fraction")
    units = sorted({getattr(row, spec.by) for row in rows})
    order = [units[i] for i in np.random.default_rng(spec.seed).permutation(len(units))]
    names = [s for s in SPLITS if s in fractions]
    shares = np.array([fractions[s] for s in names]) / sum(fractions.values()) * len(units)
    counts = np.floor(shares).astype(int)
    for i in np.argsort(-(shares - counts), kind="stable")[: len(units) - counts.sum()]:
        counts[i] += 1
    for i in range(len(names)):
        if counts[i] == 0 and counts.max() > 1:
            counts[i] += 1
            counts[int(np.argmax(counts))] -= 1
    split_of, start = {}, 0
    for name, count in zip(names, counts):
        split_of.update({unit: name for unit in order[start : start + count]})
        start += count
    return [row.model_copy(update={"split": split_of[getattr(row, spec.by)]}) for row in rows]


def _validated(model: type[BaseModel], values: dict, csv_path: str | os.PathLike, number: int):
    """``model(**values)``, or a ManifestError naming the file, row and first failing column."""
    try:
        return model(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        column = str(error["loc"][0]) if error["loc"] else None
        raise ManifestError(
            f"{error['msg']} (got {error.get('input')!r})", file=csv_path, row=number, column=column
        ) from None


def _cell(value: object) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _write_csv(csv_path: str | os.PathLike, header: Sequence[str], lines: Iterable[Sequence[object]]) -> Path:
    path = Path(csv_path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)
    return path
