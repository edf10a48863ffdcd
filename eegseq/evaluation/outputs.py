"""Write every output of one evaluation into a directory (each file atomically)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from eegseq.evaluation.data import EvaluationSet
from eegseq.evaluation.evaluator import EvaluationResult
from eegseq.evaluation.plots import (
    plot_calibration,
    plot_confusion_matrix,
    plot_precision_recall,
    plot_roc,
    plot_traces,
    trace_recordings,
)
from eegseq.evaluation.report import render_report
from eegseq.evaluation.tables import write_events_tsv, write_metrics_json, write_predictions_csv
from eegseq.files import atomic_write_text

EVENTS_DIRECTORY = "events"


def write_outputs(
    directory: str | os.PathLike[str],
    data: EvaluationSet,
    result: EvaluationResult,
    recording_starts: Mapping[str, datetime] | None = None,
) -> dict[str, Path]:
    """Write metrics, tables, plots and the report of ``result`` into ``directory``.

    Files: ``metrics.json``, ``report.md``, ``predictions.csv``, ``roc.png``, ``pr.png``,
    ``calibration.png``, ``confusion_matrix.png``, ``traces.png`` and one SzCORE
    ``events.tsv`` per recording under ``events/`` (see :func:`tables.events_tsv_path`).
    ``report.md`` is written last, so its presence means the rest is complete.

    Args:
        directory: output folder, created if missing.
        data: the evaluated split.
        result: output of :func:`eegseq.evaluation.evaluate` on ``data``.
        recording_starts: optional start date-time of each recording for ``events.tsv``.

    Returns:
        Output name -> path; ``events`` is the events folder.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    labelled = data.predictions.labelled
    labels, probabilities = data.predictions.label[labelled], data.predictions.probability[labelled]
    window = result.metrics["window"]
    paths = {
        "metrics.json": write_metrics_json(result.metrics, root / "metrics.json"),
        "predictions.csv": write_predictions_csv(data.predictions, root / "predictions.csv"),
        "roc.png": plot_roc(labels, probabilities, root / "roc.png"),
        "pr.png": plot_precision_recall(labels, probabilities, root / "pr.png"),
        "calibration.png": plot_calibration(window["calibration"], root / "calibration.png"),
        "confusion_matrix.png": plot_confusion_matrix(
            window["confusion_matrix"], result.threshold, root / "confusion_matrix.png"
        ),
        "traces.png": plot_traces(
            data,
            result.detected_events,
            result.event_threshold,
            trace_recordings(data, result.config.trace_recordings),
            root / "traces.png",
        ),
    }
    write_events_tsv(root / EVENTS_DIRECTORY, result.detected_events, data.recording_durations_s, recording_starts)
    paths["events"] = root / EVENTS_DIRECTORY
    links = {name: path.relative_to(root).as_posix() for name, path in paths.items()}
    paths["report.md"] = atomic_write_text(root / "report.md", render_report(result.metrics, links))
    return paths
