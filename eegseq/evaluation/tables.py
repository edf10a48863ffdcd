"""Machine-readable outputs: ``metrics.json``, ``predictions.csv`` and SzCORE ``events.tsv`` files.

Every file is written atomically (:mod:`eegseq.files`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eegseq.evaluation.data import WindowPredictions, check_safe_id
from eegseq.files import atomic_write_text

# SzCORE's annotation columns (epilepsy2bids), in its order.
SZCORE_COLUMNS = ("onset", "duration", "eventType", "confidence", "channels", "dateTime", "recordingDuration")
# SzCORE's loader parses dateTime with this format and fails on "n/a"; when the recording's
# start is unknown we write the epoch, which scorers ignore.
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_UNKNOWN_START = datetime(1970, 1, 1)
_BIDS_SUBJECT = re.compile(r"^(sub-[A-Za-z0-9]+)(?:_(ses-[A-Za-z0-9]+))?_")


def write_metrics_json(metrics: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``metrics`` as indented JSON to ``path``; NaN/inf are refused (undefined is null)."""
    return atomic_write_text(path, json.dumps(metrics, indent=2, allow_nan=False) + "\n")


def write_predictions_csv(predictions: WindowPredictions, path: str | os.PathLike[str]) -> Path:
    """Write one row per window: ``recording,start,end,probability,label`` (seconds, probability in [0, 1])."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("recording", "start", "end", "probability", "label"))
    order = np.lexsort((predictions.start_s, predictions.recording))
    for i in order:
        writer.writerow(
            (
                predictions.recording[i],
                repr(float(predictions.start_s[i])),
                repr(float(predictions.end_s[i])),
                repr(float(predictions.probability[i])),
                int(predictions.label[i]),
            )
        )
    return atomic_write_text(path, buffer.getvalue())


def read_predictions_csv(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The columns of a ``predictions.csv`` (:func:`write_predictions_csv`): ``recording`` (list of str),
    ``start``, ``end`` (seconds), ``probability`` (float arrays) and ``label`` (int array), one entry per window."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, Any] = {"recording": [row["recording"] for row in rows]}
    for name in ("start", "end", "probability"):
        columns[name] = np.array([float(row[name]) for row in rows], np.float64)
    columns["label"] = np.array([int(row["label"]) for row in rows], np.int64)
    return columns


def events_tsv_path(directory: str | os.PathLike[str], recording: str) -> Path:
    """Where the events of ``recording`` go, following SzCORE's BIDS layout when the id allows.

    A BIDS-like id (``sub-01_ses-01_task-szMonitoring_run-00``) gives
    ``sub-01/ses-01/eeg/sub-01_ses-01_task-szMonitoring_run-00_events.tsv``, the tree
    SzCORE's scorer walks; any other id gives ``<id>_events.tsv`` directly in ``directory``.
    """
    check_safe_id("recording", recording)  # ids become file names: no path separators
    stem = recording[: -len("_eeg")] if recording.endswith("_eeg") else recording
    match = _BIDS_SUBJECT.match(stem + "_")
    folder = Path(directory)
    if match:
        folder = folder.joinpath(*(part for part in match.groups() if part), "eeg")
    return folder / f"{stem}_events.tsv"


def format_events_tsv(events: NDArray[np.floating], duration_s: float, start: datetime | None = None) -> str:
    """SzCORE/BIDS ``events.tsv`` text of one recording's detected seizures.

    Args:
        events: ``(onset_s, duration_s)`` rows, shape ``(k, 2)``.
        duration_s: recording duration, seconds (``recordingDuration`` column).
        start: recording start date-time; the epoch when unknown.

    Returns:
        Tab-separated text with the :data:`SZCORE_COLUMNS` header, one ``sz`` row per event;
        a recording without events gets one ``bckg`` row spanning it, as SzCORE writes
        (its loader reads the recording duration from the first row).
    """
    stamp = (start or _UNKNOWN_START).strftime(_DATETIME_FORMAT)
    rows = [(float(onset), float(length), "sz") for onset, length in np.asarray(events).reshape(-1, 2)]
    if not rows:
        rows = [(0.0, float(duration_s), "bckg")]
    lines = ["\t".join(SZCORE_COLUMNS)]
    for onset, length, event_type in rows:
        lines.append(f"{onset:.3f}\t{length:.3f}\t{event_type}\tn/a\tn/a\t{stamp}\t{duration_s:.3f}")
    return "\n".join(lines) + "\n"


def write_events_tsv(
    directory: str | os.PathLike[str],
    detected_events: Mapping[str, NDArray[np.floating]],
    recording_durations_s: Mapping[str, float],
    recording_starts: Mapping[str, datetime] | None = None,
) -> list[Path]:
    """Write one SzCORE ``events.tsv`` per recording under ``directory``; return the paths.

    Args:
        directory: root of the hypothesis tree (created if missing).
        detected_events: per recording id, ``(onset_s, duration_s)`` rows.
        recording_durations_s: duration of each recording, seconds.
        recording_starts: optional start date-time of each recording.
    """
    starts = recording_starts or {}
    return [
        atomic_write_text(
            events_tsv_path(directory, rid),
            format_events_tsv(events, recording_durations_s[rid], starts.get(rid)),
        )
        for rid, events in detected_events.items()
    ]
