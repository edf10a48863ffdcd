"""PNG figures of an evaluation: ROC, precision-recall, calibration, confusion matrix, traces.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never through
``pyplot``: no global figure registry, no display backend, safe in a library. Each file is
written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray
from sklearn.metrics import precision_recall_curve, roc_curve

from eegseq.evaluation.data import EvaluationSet
from eegseq.evaluation.window import class_reason
from eegseq.files import atomic_path

_DPI = 100


def _new_figure(width_in: float = 5.0, height_in: float = 4.5) -> Figure:
    figure = Figure(figsize=(width_in, height_in), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | os.PathLike[str]) -> Path:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    return Path(path)


def _say_undefined(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, wrap=True)


def plot_roc(labels: NDArray[np.integer], scores: NDArray[np.floating], path: str | os.PathLike[str]) -> Path:
    """ROC curve of window ``scores`` (shape ``(n,)``) against ``labels`` (0/1) to ``path``."""
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    reason = class_reason(labels, "windows")
    if reason is None:
        fpr, tpr, _ = roc_curve(labels, scores)
        axes.plot(fpr, tpr, color="C0", label="model")
        axes.legend(loc="lower right")
    else:
        _say_undefined(axes, f"ROC undefined: {reason}")
    axes.set(xlabel="false positive rate (1 - specificity)", ylabel="true positive rate (sensitivity)")
    axes.set(xlim=(0, 1), ylim=(0, 1.01), title="ROC, windows")
    return _save(figure, path)


def plot_precision_recall(
    labels: NDArray[np.integer], scores: NDArray[np.floating], path: str | os.PathLike[str]
) -> Path:
    """Precision-recall curve of window ``scores`` against ``labels`` to ``path``."""
    figure = _new_figure()
    axes = figure.add_subplot()
    reason = class_reason(labels, "windows")
    if reason is None:
        precision, recall, _ = precision_recall_curve(labels, scores)
        axes.step(recall, precision, where="post", color="C0", label="model")
        prevalence = float(np.mean(labels))
        axes.axhline(prevalence, linestyle=":", color="grey", label=f"prevalence {prevalence:.3f}")
        axes.legend(loc="upper right")
    else:
        _say_undefined(axes, f"precision-recall undefined: {reason}")
    axes.set(xlabel="recall (sensitivity)", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01))
    axes.set_title("Precision-recall, windows")
    return _save(figure, path)


def plot_calibration(calibration: Mapping[str, Sequence[float]], path: str | os.PathLike[str]) -> Path:
    """Reliability diagram from :func:`eegseq.evaluation.window.calibration` output to ``path``."""
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    axes.plot(calibration["mean_predicted"], calibration["fraction_positive"], marker="o", color="C0", label="model")
    axes.set(xlabel="mean predicted probability", ylabel="fraction of positive windows", xlim=(0, 1), ylim=(0, 1.01))
    axes.set_title("Calibration, windows")
    axes.legend(loc="upper left")
    return _save(figure, path)


def plot_confusion_matrix(counts: Mapping[str, int], threshold: float, path: str | os.PathLike[str]) -> Path:
    """Confusion matrix of window counts ``{"tn", "fp", "fn", "tp"}`` at ``threshold`` to ``path``."""
    matrix = np.array([[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]])
    figure = _new_figure(4.5, 4.0)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max()), 1))
    figure.colorbar(image, ax=axes)
    for (row, column), value in np.ndenumerate(matrix):
        dark = value > matrix.max() / 2
        axes.text(column, row, str(value), ha="center", va="center", color="white" if dark else "black")
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["no seizure", "seizure"], yticklabels=["no seizure", "seizure"])
    axes.set(xlabel="predicted", ylabel="reference", title=f"Windows at threshold {threshold:.3g}")
    return _save(figure, path)


def trace_recordings(data: EvaluationSet, count: int) -> list[str]:
    """Up to ``count`` recording ids to draw: those with reference seizures first, in split order."""
    with_seizures = [rid for rid in data.recordings if data.reference_events[rid].size]
    without = [rid for rid in data.recordings if not data.reference_events[rid].size]
    return (with_seizures + without)[:count]


def plot_traces(
    data: EvaluationSet,
    detected_events: Mapping[str, NDArray[np.floating]],
    threshold: float,
    recordings: Sequence[str],
    path: str | os.PathLike[str],
) -> Path:
    """Window probability over time for ``recordings``, one panel each, to ``path``.

    Reference seizures are shaded red, detected events are drawn as an orange band at the
    top of the panel, and the event threshold as a dashed line.
    """
    rows_by_recording = data.predictions.indices_by_recording()
    figure = _new_figure(10.0, 1.0 + 2.0 * max(len(recordings), 1))
    panels = figure.subplots(max(len(recordings), 1), 1, squeeze=False)[:, 0]
    if not recordings:
        _say_undefined(panels[0], "no recording to draw")
    for axes, rid in zip(panels, recordings):
        rows = rows_by_recording[rid]
        centre = (data.predictions.start_s[rows] + data.predictions.end_s[rows]) / 2
        axes.plot(centre, data.predictions.probability[rows], color="C0", linewidth=1, label="probability")
        for onset, length in data.reference_events[rid]:
            axes.axvspan(onset, onset + length, color="red", alpha=0.25, label="reference seizure")
        for onset, length in detected_events.get(rid, np.zeros((0, 2))):
            axes.axvspan(onset, onset + length, ymin=0.92, ymax=1.0, color="orange", label="detected")
        axes.axhline(threshold, linestyle="--", color="grey", linewidth=1, label="threshold")
        axes.set(xlim=(0, data.recording_durations_s[rid]), ylim=(0, 1.05), ylabel="p(seizure)", title=rid)
        handles, names = axes.get_legend_handles_labels()
        unique: dict[str, Any] = dict(zip(names, handles))
        axes.legend(unique.values(), unique.keys(), loc="upper left", fontsize="small")
    panels[-1].set_xlabel("time (s)")
    return _save(figure, path)
