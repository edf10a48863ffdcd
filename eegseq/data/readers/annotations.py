"""Seizure annotation files kept beside recordings: CHB-MIT summaries, TUSZ ``.csv_bi`` (and the old
``.tse``/``.tse_bi``), BIDS ``events.tsv``.

Every parser returns :class:`~eegseq.data.recording.Event` lists in seconds from the recording's first
sample, seizures labelled in the BIDS/SzCORE convention (``"sz"`` or the file's own ``sz...`` type).
Background rows (``bckg``) are not returned: background is whatever no event covers.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from eegseq.data.errors import RecordingError
from eegseq.data.recording import Event

SEIZURE = "sz"
BACKGROUND = "bckg"

_CHB_FILE = re.compile(r"^File Name:\s*(\S+)")
_CHB_COUNT = re.compile(r"^Number of Seizures in File:\s*(\d+)")
# "Seizure Start Time: 2996 seconds" (chb01-chb10) and "Seizure 1 Start Time: 1862 seconds" (later subjects).
_CHB_TIME = re.compile(r"^Seizure(?:\s+\d+)?\s+(Start|End)\s+Time:\s*([\d.]+)\s*seconds?", re.I)
_TUSZ_COLUMNS = ("channel", "start_time", "stop_time", "label")
_TUSZ_LABELS = {"seiz": SEIZURE, BACKGROUND: None}
_BIDS_COLUMNS = ("onset", "duration", "eventType")
# "# duration = 1230.0000 secs" in a .csv_bi header
_CSV_BI_DURATION = re.compile(r"^#\s*duration\s*=\s*([\d.]+)\s*sec", re.I)
# Old TUSZ term files: .tse_bi says seiz/bckg, .tse names the seizure type (TUH's codes: focal non-specific,
# generalised non-specific, simple partial, complex partial, absence, tonic, clonic, tonic-clonic, atonic,
# myoclonic). Any other label (e.g. "nesz", a non-epileptic seizure) is refused by name.
_TSE_SEIZURE_LABELS = ("seiz", "fnsz", "gnsz", "spsz", "cpsz", "absz", "tnsz", "cnsz", "tcsz", "atsz", "mysz")
# A recording and the duration its annotation file states may differ by rounding, seconds.
DURATION_TOLERANCE_SECONDS = 1.0
# TUSZ annotation files, in order of preference (v2 first).
TUSZ_ANNOTATION_SUFFIXES = (".csv_bi", ".tse_bi", ".tse")


def _seizure(onset: float, offset: float, path: str | os.PathLike, where: str) -> Event:
    if not (0 <= onset < offset):
        raise RecordingError(f"{where}: seizure from {onset} s to {offset} s is not a forward span >= 0", path=path)
    return Event(onset, offset - onset, SEIZURE)


def parse_chbmit_summary(path: str | os.PathLike) -> dict[str, list[Event]]:
    """Parse a CHB-MIT ``chbNN-summary.txt``.

    Args:
        path: the summary file.

    Returns:
        ``{edf file name: seizures}`` for every file the summary lists (an empty list for a file with no
        seizure); onsets and durations in seconds from the file's start, label ``"sz"``.

    Raises:
        RecordingError: a start without an end (or the reverse), a time before any ``File Name``, or a
            seizure count that disagrees with ``Number of Seizures in File``.
    """
    result: dict[str, list[Event]] = {}
    counts: dict[str, int] = {}
    current: str | None = None
    start: float | None = None
    for number, line in enumerate(Path(path).read_text(encoding="latin-1").splitlines(), start=1):
        line = line.strip()
        where = f"line {number}"
        if match := _CHB_FILE.match(line):
            current = match[1]
            result[current] = []
        elif match := _CHB_COUNT.match(line):
            if current is None:
                raise RecordingError(f"{where}: seizure count before any 'File Name'", path=path)
            counts[current] = int(match[1])
        elif match := _CHB_TIME.match(line):
            if current is None:
                raise RecordingError(f"{where}: seizure time before any 'File Name'", path=path)
            seconds = float(match[2])
            if match[1].lower() == "start":
                if start is not None:
                    raise RecordingError(f"{where}: seizure start without an end before it", path=path)
                start = seconds
            else:
                if start is None:
                    raise RecordingError(f"{where}: seizure end without a start", path=path)
                result[current].append(_seizure(start, seconds, path, where))
                start = None
    if start is not None:
        raise RecordingError("last seizure start has no end", path=path)
    for name, count in counts.items():
        if count != len(result[name]):
            raise RecordingError(
                f"{name}: 'Number of Seizures in File' says {count}, found {len(result[name])}", path=path
            )
    return result


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of ``(start, stop)`` spans, sorted; touching or overlapping spans become one."""
    merged: list[tuple[float, float]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _rows(path: str | os.PathLike, delimiter: str, required: tuple[str, ...]):
    """``(number, row)`` for the data rows of a delimited text file with ``required`` columns.

    Lines starting with '#' and blank lines are skipped; ``number`` counts data rows from 1.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        lines = (line for line in handle if not line.lstrip().startswith("#") and line.strip())
        reader = csv.DictReader(lines, delimiter=delimiter)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in required if name not in header]
        if missing:
            raise RecordingError(f"missing column(s) {missing}; header is {header}", path=path)
        for number, row in enumerate(reader, start=1):
            yield number, {key.strip(): (value or "").strip() for key, value in row.items() if key is not None}


def _number(row: dict, column: str, path: str | os.PathLike, number: int) -> float:
    try:
        return float(row[column])
    except ValueError:
        raise RecordingError(
            f"data row {number}, column {column!r}: {row[column]!r} is not a number", path=path
        ) from None


def parse_csv_bi(path: str | os.PathLike) -> list[Event]:
    """Parse a TUSZ ``.csv_bi`` file (``channel,start_time,stop_time,label,confidence``).

    Per-channel ``seiz`` rows are merged into recording-level seizures (the union of their spans);
    ``bckg`` rows are dropped.

    Returns:
        seizures, sorted by onset, seconds, label ``"sz"``.

    Raises:
        RecordingError: a missing column, a non-numeric time, or a label other than ``seiz``/``bckg``.
    """
    spans = []
    for number, row in _rows(path, ",", _TUSZ_COLUMNS):
        label = row["label"].lower()
        if label not in _TUSZ_LABELS:
            raise RecordingError(
                f"data row {number}: label {row['label']!r}, expected one of {sorted(_TUSZ_LABELS)}", path=path
            )
        if _TUSZ_LABELS[label] is not None:
            start, stop = _number(row, "start_time", path, number), _number(row, "stop_time", path, number)
            _seizure(start, stop, path, f"data row {number}")  # validates the span
            spans.append((start, stop))
    return [Event(start, stop - start, SEIZURE) for start, stop in _merge(spans)]


def parse_tse(path: str | os.PathLike) -> list[Event]:
    """Parse an old TUSZ term annotation, ``.tse`` (seizure types) or ``.tse_bi`` (``seiz``/``bckg``), v1
    layout: a ``version = tse_v1.0.0`` line, then one ``start stop label [confidence]`` line per term, seconds.

    Seizure terms (``seiz`` or one of TUH's seizure-type codes) are merged into recording-level seizures
    (the union of their spans); ``bckg`` terms are dropped.

    Returns:
        seizures, sorted by onset, seconds, label ``"sz"``.

    Raises:
        RecordingError: a line that is not ``start stop label [confidence]``, a non-numeric time, or any
            other label (named, with the labels understood).
    """
    spans = []
    lines = Path(path).read_text(encoding="latin-1").splitlines()
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].lower() == "version" or line.lstrip().startswith("#"):
            continue
        where = f"line {number}"
        if len(fields) not in (3, 4):
            raise RecordingError(f"{where}: expected 'start stop label [confidence]', got {line.strip()!r}", path=path)
        label = fields[2].lower()
        if label == BACKGROUND:
            continue
        if label not in _TSE_SEIZURE_LABELS:
            raise RecordingError(
                f"{where}: label {fields[2]!r} is not understood; expected {BACKGROUND!r} or a seizure label "
                f"{list(_TSE_SEIZURE_LABELS)}",
                path=path,
            )
        try:
            start, stop = float(fields[0]), float(fields[1])
        except ValueError:
            raise RecordingError(f"{where}: start/stop {fields[:2]} are not numbers", path=path) from None
        _seizure(start, stop, path, where)  # validates the span
        spans.append((start, stop))
    return [Event(start, stop - start, SEIZURE) for start, stop in _merge(spans)]


def stated_duration(path: str | os.PathLike) -> float | None:
    """The recording duration (seconds) an annotation file states, or ``None`` when it states none.

    Only ``.csv_bi`` files state one (``# duration = 1230.0000 secs``).
    """
    if not str(path).lower().endswith(".csv_bi"):
        return None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                return None
            if match := _CSV_BI_DURATION.match(line.strip()):
                return float(match[1])
    return None


def parse_events_tsv(path: str | os.PathLike) -> list[Event]:
    """Parse a BIDS/SzCORE ``*_events.tsv`` (``onset duration eventType ...``, tab-separated).

    Returns:
        the non-background events in file order, seconds, labelled with their ``eventType``
        (``sz``, ``sz_foc_ia``, ...).

    Raises:
        RecordingError: a missing column or a non-numeric onset/duration.
    """
    events = []
    for number, row in _rows(path, "\t", _BIDS_COLUMNS):
        if row["eventType"].lower() == BACKGROUND:
            continue
        onset, duration = _number(row, "onset", path, number), _number(row, "duration", path, number)
        if onset < 0 or duration < 0:
            raise RecordingError(f"data row {number}: negative onset or duration ({onset}, {duration})", path=path)
        events.append(Event(onset, duration, row["eventType"]))
    return events


def find_sidecar(recording: Path) -> Path | None:
    """The annotation file beside a recording, if any.

    Looked for, in this order: ``<stem>.csv_bi``, ``<stem>.tse_bi``, ``<stem>.tse`` (TUSZ),
    ``<stem without _eeg>_events.tsv`` (BIDS), ``<subject>-summary.txt`` with ``<subject>`` the part of the
    name before the first ``_`` (CHB-MIT).
    """
    stem = Path(recording.name.removesuffix(".gz")).stem
    candidates = [
        *(recording.with_name(f"{stem}{suffix}") for suffix in TUSZ_ANNOTATION_SUFFIXES),
        recording.with_name(f"{stem.removesuffix('_eeg')}_events.tsv"),
        recording.with_name(f"{stem.split('_')[0]}-summary.txt"),
    ]
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def read_annotation_file(annotation: Path, recording: Path, duration: float | None = None) -> list[Event]:
    """Events of ``recording`` from an annotation file, the parser chosen by the file's name.

    Args:
        annotation: a ``.csv_bi``, ``.tse_bi``, ``.tse``, ``*_events.tsv`` or CHB-MIT ``*-summary.txt``.
        recording: the recording file it annotates.
        duration: the recording's duration, seconds, to check against the one the file states (if any).

    Raises:
        RecordingError: an unknown annotation format, a CHB-MIT summary that does not list the recording,
            or a stated duration that differs from ``duration`` by more than
            :data:`DURATION_TOLERANCE_SECONDS` (the file belongs to another recording).
    """
    name = annotation.name.lower()
    stated = stated_duration(annotation)
    if duration is not None and stated is not None and abs(stated - duration) > DURATION_TOLERANCE_SECONDS:
        raise RecordingError(
            f"states a duration of {stated} s, but {recording.name} lasts {duration:.3f} s: it annotates another "
            "recording (or the recording is cut short)",
            path=annotation,
        )
    if name.endswith(".csv_bi"):
        return parse_csv_bi(annotation)
    if name.endswith((".tse", ".tse_bi")):
        return parse_tse(annotation)
    if name.endswith("_events.tsv"):
        return parse_events_tsv(annotation)
    if name.endswith("-summary.txt"):
        per_file = parse_chbmit_summary(annotation)
        if recording.name not in per_file:
            raise RecordingError(f"summary does not list {recording.name!r}", path=annotation)
        return per_file[recording.name]
    raise RecordingError(
        "unknown annotation format (expected .csv_bi, .tse_bi, .tse, *_events.tsv or *-summary.txt)", path=annotation
    )
