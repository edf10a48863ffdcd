"""Recording level: one score per recording from its window probabilities, and its AUC.

A recording is labelled positive when any of its windows is labelled positive (segment
labels as in the Kaggle seizure contests); its score aggregates its window probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eegseq.evaluation.config import Aggregation
from eegseq.evaluation.data import WindowPredictions
from eegseq.evaluation.window import ranking_metrics


def aggregate(probabilities_in_time_order: NDArray[np.floating], method: Aggregation, top_k: int = 3) -> float:
    """One score from the window probabilities of one recording.

    Args:
        probabilities_in_time_order: shape ``(n_windows,)``, ``n_windows >= 1``, sorted by
            window start.
        method: ``"max"``, ``"mean"``, ``"top_k_mean"`` (mean of the ``top_k`` largest, or
            of all when fewer) or ``"last"`` (the last window's probability).
    """
    values = np.asarray(probabilities_in_time_order, dtype=np.float64)
    if values.size == 0:
        raise ValueError("aggregate needs at least one window probability")
    if method == "max":
        return float(values.max())
    if method == "mean":
        return float(values.mean())
    if method == "top_k_mean":
        k = min(top_k, values.size)
        return float(np.sort(values)[-k:].mean())
    if method == "last":
        return float(values[-1])
    raise ValueError(f"aggregation must be 'max', 'mean', 'top_k_mean' or 'last', got {method!r}")


@dataclass(frozen=True)
class RecordingScores:
    """Per-recording scores, all of shape ``(n_recordings,)``, in the same order.

    Attributes:
        recording: recording ids.
        patient: patient id of each recording.
        score: aggregated probability of each recording.
        label: 1 when the recording has a positive window, else 0 (unlabelled windows are not positive).
    """

    recording: NDArray[np.str_]
    patient: NDArray[np.str_]
    score: NDArray[np.float64]
    label: NDArray[np.int8]


def recording_scores(predictions: WindowPredictions, method: Aggregation, top_k: int = 3) -> RecordingScores:
    """Aggregate ``predictions`` to one score and one label per recording (first-appearance order)."""
    by_recording = predictions.indices_by_recording()
    rows = list(by_recording.values())
    return RecordingScores(
        recording=np.asarray(list(by_recording), dtype=np.str_),
        patient=np.asarray([predictions.patient[r[0]] for r in rows], dtype=np.str_),
        score=np.asarray([aggregate(predictions.probability[r], method, top_k) for r in rows]),
        label=np.asarray([int(predictions.label[r].max()) for r in rows], dtype=np.int8),
    )


def recording_metrics(scores: RecordingScores) -> dict[str, Any]:
    """ROC-AUC and PR-AUC of recording scores, pooled over all recordings and per patient.

    Returns:
        ``{"n_recordings", "n_positive", "roc_auc", "pr_auc", "undefined",
        "per_patient": {patient: {"n_recordings", "n_positive", "roc_auc", "undefined"}}}``.
        A patient whose recordings are all of one class has ``roc_auc`` ``None``.
    """
    pooled, undefined = ranking_metrics(scores.label, scores.score, unit="recordings")
    per_patient: dict[str, Any] = {}
    for patient in sorted(set(scores.patient.tolist())):
        mine = scores.patient == patient
        patient_ranking, patient_undefined = ranking_metrics(scores.label[mine], scores.score[mine], "recordings")
        per_patient[patient] = {
            "n_recordings": int(mine.sum()),
            "n_positive": int(scores.label[mine].sum()),
            "roc_auc": patient_ranking["roc_auc"],
            "undefined": {k: v for k, v in patient_undefined.items() if k == "roc_auc"},
        }
    return {
        "n_recordings": int(scores.label.size),
        "n_positive": int(scores.label.sum()),
        **pooled,
        "undefined": undefined,
        "per_patient": per_patient,
    }
