"""Window-level metrics: ROC/PR AUC, metrics at a threshold, calibration.

All functions take ``labels`` (shape ``(n,)``, 0/1) and ``probabilities`` (shape ``(n,)``,
in ``[0, 1]``) of pooled windows. A window is predicted positive when
``probability >= threshold`` (scikit-learn's ``roc_curve`` convention).

Metrics that a set cannot define (an AUC without positives, a precision without positive
predictions) are ``None``, and the reason is put in the returned ``undefined`` mapping.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)


def class_reason(labels: NDArray[np.integer], unit: str) -> str | None:
    """Why a ranking metric is undefined for ``labels`` (``'no positive windows'``), else None."""
    if not np.any(labels == 1):
        return f"no positive {unit}"
    if not np.any(labels == 0):
        return f"no negative {unit}"
    return None


def ranking_metrics(
    labels: NDArray[np.integer], scores: NDArray[np.floating], unit: str = "windows"
) -> tuple[dict[str, float | None], dict[str, str]]:
    """ROC-AUC and PR-AUC (average precision) of ``scores`` against ``labels``.

    Returns:
        ``({"roc_auc": ..., "pr_auc": ...}, undefined)``; both are ``None`` when ``labels``
        hold one class only, with the reason (``"no positive <unit>"``) in ``undefined``.
    """
    reason = class_reason(labels, unit)
    if reason is not None:
        return {"roc_auc": None, "pr_auc": None}, {"roc_auc": reason, "pr_auc": reason}
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
    }, {}


def cross_entropy(labels: NDArray[np.integer], probabilities: NDArray[np.floating], clip: float = 1e-7) -> float:
    """Mean binary cross-entropy (log-loss, nats per window), probabilities clipped to ``[clip, 1 - clip]``
    so that one confident mistake costs at most ``-ln(clip)``."""
    return float(log_loss(labels, np.clip(probabilities, clip, 1 - clip), labels=[0, 1]))


def _nan_to_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def threshold_metrics(
    labels: NDArray[np.integer], probabilities: NDArray[np.floating], threshold: float
) -> tuple[dict[str, Any], dict[str, str]]:
    """Confusion counts and the metrics they define at ``threshold``.

    Returns:
        ``(metrics, undefined)`` where ``metrics`` holds ``sensitivity`` (TP/(TP+FN)),
        ``specificity`` (TN/(TN+FP)), ``precision`` (TP/(TP+FP)), ``f1``,
        ``balanced_accuracy`` ((sensitivity+specificity)/2), ``brier`` (mean squared
        error of the probabilities; threshold-free) and ``confusion_matrix``
        ``{"tn", "fp", "fn", "tp"}`` (window counts).
    """
    predicted = (probabilities >= threshold).astype(np.int8)
    tn, fp, fn, tp = (int(c) for c in confusion_matrix(labels, predicted, labels=[0, 1]).ravel())
    metrics: dict[str, Any] = {
        "sensitivity": _nan_to_none(recall_score(labels, predicted, zero_division=np.nan)),
        "specificity": _nan_to_none(recall_score(labels, predicted, pos_label=0, zero_division=np.nan)),
        "precision": _nan_to_none(precision_score(labels, predicted, zero_division=np.nan)),
        "f1": _nan_to_none(f1_score(labels, predicted, zero_division=np.nan)),
        "balanced_accuracy": None,
        "brier": float(brier_score_loss(labels, probabilities, pos_label=1)),
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
    undefined: dict[str, str] = {}
    reason = class_reason(labels, "windows")
    if reason is None:
        metrics["balanced_accuracy"] = float(balanced_accuracy_score(labels, predicted))
    else:
        undefined["balanced_accuracy"] = reason
    reasons = {
        "sensitivity": "no positive windows",
        "specificity": "no negative windows",
        "precision": "no window predicted positive",
        "f1": "no positive windows and none predicted positive",
    }
    undefined.update({name: why for name, why in reasons.items() if metrics[name] is None})
    return metrics, undefined


def calibration(
    labels: NDArray[np.integer], probabilities: NDArray[np.floating], n_bins: int
) -> dict[str, list[float]]:
    """Reliability curve with ``n_bins`` equal-width bins (empty bins are left out).

    Returns:
        ``{"mean_predicted": [...], "fraction_positive": [...], "count": [...]}``, one entry
        per non-empty bin, from scikit-learn's ``calibration_curve``.
    """
    fraction_positive, mean_predicted = calibration_curve(
        labels, probabilities, n_bins=n_bins, strategy="uniform", pos_label=1
    )
    # Same binning as calibration_curve (uniform edges, right-closed), to report bin sizes.
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], probabilities), minlength=n_bins)
    return {
        "mean_predicted": [float(v) for v in mean_predicted],
        "fraction_positive": [float(v) for v in fraction_positive],
        "count": [int(c) for c in counts[counts > 0]],
    }


def window_metrics(
    labels: NDArray[np.integer], probabilities: NDArray[np.floating], threshold: float, calibration_bins: int
) -> dict[str, Any]:
    """All window-level metrics of one split, JSON-ready.

    Returns:
        ``{"n_windows", "n_positive", "n_negative", "threshold", "roc_auc", "pr_auc",
        <threshold_metrics>, "calibration", "undefined"}``.
    """
    ranking, undefined = ranking_metrics(labels, probabilities)
    at_threshold, undefined_at_threshold = threshold_metrics(labels, probabilities, threshold)
    return {
        "n_windows": int(labels.size),
        "n_positive": int(np.sum(labels == 1)),
        "n_negative": int(np.sum(labels == 0)),
        "threshold": float(threshold),
        **ranking,
        **at_threshold,
        "calibration": calibration(labels, probabilities, calibration_bins),
        "undefined": {**undefined, **undefined_at_threshold},
    }
