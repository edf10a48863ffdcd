"""The decision threshold: chosen on the validation split by a named rule, then applied unchanged.

Rules (``EvaluationConfig.threshold_method``):

* ``fixed``: ``fixed_threshold``; needs no validation data.
* ``youden``: maximises Youden's J = sensitivity + specificity - 1 over the labelled
  validation windows (ties go to the highest threshold).
* ``target_sensitivity``: the highest threshold whose validation window sensitivity is
  at least ``target_sensitivity``.
* ``target_specificity``: the lowest threshold whose validation window specificity is at
  least ``target_specificity`` (the most sensitive one that keeps it).
* ``max_fp_per_24h``: the threshold with the largest validation *event* sensitivity whose
  false positives per 24 h stay ``<= max_fp_per_24h``, both counted by the SzCORE event
  scorer on the events the detector makes at that threshold (smoothing, merging and
  minimum duration included). Ties go to fewer false positives, then to the middle of the
  range of thresholds giving that result (the one furthest from both failure modes).

A data-driven rule cannot be applied when the validation split lacks positive windows or
negative windows (``max_fp_per_24h``: lacks reference seizures). The threshold then falls
back to ``fixed_threshold``, and the returned :class:`ThresholdChoice` says so in
``fallback`` and ``reason`` (the evaluation turns it into a warning); evaluation never stops
there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_curve

from eegseq.evaluation.config import EvaluationConfig
from eegseq.evaluation.data import EvaluationSet
from eegseq.evaluation.detection import detect_events, smooth_probabilities
from eegseq.evaluation.event_scoring import ANNOTATION_FS, score_recording, sum_counts
from eegseq.evaluation.window import class_reason


@dataclass(frozen=True)
class ThresholdChoice:
    """A chosen threshold and why.

    Attributes:
        value: threshold on (window, and by default smoothed event) probabilities.
        method: the configured rule.
        chosen_on: ``"validation"`` or ``"config"`` (fixed, or a fallback).
        fallback: True when ``method`` could not be applied and ``fixed_threshold`` was used.
        reason: one sentence for the report: the rule, and what it reached on validation.
        achieved: what the threshold gives on validation (window sensitivity/specificity,
            event sensitivity and false positives per 24 h, where computed).
    """

    value: float
    method: str
    chosen_on: str
    fallback: bool
    reason: str
    achieved: dict[str, Any] = field(default_factory=dict)


def window_threshold(
    labels: NDArray[np.integer], probabilities: NDArray[np.floating], method: str, target: float
) -> tuple[float, dict[str, float]]:
    """Threshold of a window rule (``youden``, ``target_sensitivity``, ``target_specificity``).

    Args:
        labels: shape ``(n,)``, 0/1, both classes present.
        probabilities: shape ``(n,)``.
        method: the rule.
        target: the sensitivity or specificity to reach (ignored by ``youden``).

    Returns:
        ``(threshold, {"sensitivity", "specificity"})`` reached on these windows.
    """
    fpr, tpr, thresholds = roc_curve(labels, probabilities, drop_intermediate=False)
    # Index 0 is sklearn's "predict nothing" point (threshold +inf): never a usable choice.
    fpr, tpr, thresholds = fpr[1:], tpr[1:], thresholds[1:]
    # Thresholds fall along the arrays, so tpr and fpr never decrease.
    if method == "youden":
        index = int(np.argmax(tpr - fpr))
    elif method == "target_sensitivity":
        index = int(np.argmax(tpr >= target - 1e-12))
    elif method == "target_specificity":
        reaching = np.flatnonzero(1.0 - fpr >= target - 1e-12)
        index = int(reaching[-1]) if reaching.size else 0  # none reaches it: the most specific
    else:
        raise ValueError(f"{method!r} is not a window threshold rule")
    return float(thresholds[index]), {"sensitivity": float(tpr[index]), "specificity": float(1.0 - fpr[index])}


@dataclass(frozen=True)
class EventSweep:
    """Pooled event-scoring counts of a split at every threshold where its detections change.

    Attributes:
        thresholds: ascending, shape ``(k,)``; the last is above every smoothed probability
            (nothing detected).
        tp, fp: summed event-scorer counts at each threshold, shape ``(k,)``.
        ref_true: reference events as the scorer counts them.
        hours: scored duration, hours.
    """

    thresholds: NDArray[np.float64]
    tp: NDArray[np.int64]
    fp: NDArray[np.int64]
    ref_true: int
    hours: float

    @property
    def sensitivity(self) -> NDArray[np.float64]:
        return self.tp / max(self.ref_true, 1)

    @property
    def fp_per_24h(self) -> NDArray[np.float64]:
        return self.fp / self.hours * 24.0


def event_sweep(data: EvaluationSet, config: EvaluationConfig) -> EventSweep:
    """Score the detector of ``config`` on ``data`` at every threshold that changes a detection.

    Detection at threshold ``t`` keeps windows whose smoothed probability is ``>= t``, so
    within one recording it changes only at its own smoothed values: each recording is
    scored once per distinct value (and once with nothing detected), and the split's counts
    at any threshold are sums of those.
    """
    predictions = data.predictions
    rows_by_recording = predictions.indices_by_recording()
    per_recording = []
    for rid in data.recordings:
        rows = rows_by_recording[rid]
        start, end, probability = predictions.start_s[rows], predictions.end_s[rows], predictions.probability[rows]
        levels = np.unique(smooth_probabilities(start, end, probability, config.smoothing_s))
        counts, seen = [], {}
        for level in np.append(levels, np.inf):
            detected = detect_events(
                start,
                end,
                probability,
                level,
                smoothing_s=config.smoothing_s,
                min_duration_s=config.min_duration_s,
                merge_gap_s=config.merge_gap_s,
                duration_s=data.recording_durations_s[rid],
            )
            key = detected.tobytes()
            if key not in seen:
                seen[key] = score_recording(
                    data.reference_events[rid], detected, data.recording_durations_s[rid], config
                )[0]
            counts.append(seen[key])
        per_recording.append((levels, counts))
    top = max(float(levels[-1]) for levels, _ in per_recording)
    thresholds = np.unique(np.concatenate([levels for levels, _ in per_recording] + [[np.nextafter(top, np.inf)]]))
    tp, fp = np.zeros(thresholds.size, np.int64), np.zeros(thresholds.size, np.int64)
    for levels, counts in per_recording:
        # The recording's detections at t are those at its smallest own level >= t (or none).
        at = np.searchsorted(levels, thresholds, side="left")
        tp += np.array([c.tp for c in counts])[at]
        fp += np.array([c.fp for c in counts])[at]
    total = sum_counts((counts[-1] for _, counts in per_recording), ANNOTATION_FS)
    return EventSweep(thresholds, tp, fp, total.ref_true, total.hours)


def max_fp_threshold(sweep: EventSweep, bound_per_24h: float) -> tuple[float, dict[str, float]]:
    """Threshold of ``max_fp_per_24h`` from an :func:`event_sweep` (see the module docstring).

    Returns:
        ``(threshold, {"event_sensitivity", "event_fp_per_24h"})`` reached on the swept split.
    """
    sensitivity, fp_rate = sweep.sensitivity, sweep.fp_per_24h
    feasible = np.flatnonzero(fp_rate <= bound_per_24h)  # never empty: the top threshold detects nothing
    best = feasible[sensitivity[feasible] == sensitivity[feasible].max()]
    best = best[fp_rate[best] == fp_rate[best].min()]
    # The run of consecutive thresholds with this result that ends at the highest one: every
    # threshold in (thresholds[low - 1], thresholds[high]] gives it.
    tied, high = set(best.tolist()), int(best[-1])
    low = high
    while low - 1 in tied:
        low -= 1
    below = float(sweep.thresholds[low - 1]) if low > 0 else 0.0
    above = float(sweep.thresholds[high])
    if high == len(sweep.thresholds) - 1 and below < 1.0:
        above = 1.0  # nothing detected: the range runs past every probability, up to 1
    value = (below + above) / 2
    return value, {"event_sensitivity": float(sensitivity[high]), "event_fp_per_24h": float(fp_rate[high])}


def _cannot_apply(validation: EvaluationSet, method: str) -> str | None:
    reason = class_reason(validation.predictions.label[validation.predictions.labelled], "windows")
    if method == "max_fp_per_24h" and not any(events.size for events in validation.reference_events.values()):
        reason = "no reference seizures"
    return reason


def choose_threshold(config: EvaluationConfig, validation: EvaluationSet | None) -> ThresholdChoice:
    """The threshold of ``config.threshold_method`` on ``validation`` (see the module docstring).

    Raises:
        ValueError: a data-driven rule without ``validation`` (a caller's mistake, not a
            property of the data).
    """
    method = config.threshold_method
    if method == "fixed":
        return ThresholdChoice(config.fixed_threshold, method, "config", False, "fixed_threshold from the config")
    if validation is None:
        raise ValueError(
            f"threshold_method={method!r} chooses the threshold on the validation split, but no validation "
            "predictions were given (pass validation=..., or use threshold_method='fixed')"
        )
    problem = _cannot_apply(validation, method)
    if problem is not None:
        return ThresholdChoice(
            config.fixed_threshold,
            method,
            "config",
            True,
            f"threshold_method {method!r} cannot be applied: the validation split has {problem}; "
            f"fell back to fixed_threshold {config.fixed_threshold:g}",
        )
    if method == "max_fp_per_24h":
        value, achieved = max_fp_threshold(event_sweep(validation, config), config.max_fp_per_24h)
        reason = (
            f"largest validation event sensitivity ({achieved['event_sensitivity']:.3f}) with at most "
            f"{config.max_fp_per_24h:g} false positives per 24 h (reached {achieved['event_fp_per_24h']:.2f}; "
            "events and false positives as the SzCORE event scorer counts them), middle of the tied range"
        )
    else:
        labelled = validation.predictions.labelled
        labels, probabilities = validation.predictions.label[labelled], validation.predictions.probability[labelled]
        target = config.target_specificity if method == "target_specificity" else config.target_sensitivity
        value, achieved = window_threshold(labels, probabilities, method, target)
        rule = {
            "youden": "maximises Youden's J on the validation windows",
            "target_sensitivity": f"highest threshold with validation window sensitivity >= {target:g}",
            "target_specificity": f"lowest threshold with validation window specificity >= {target:g}",
        }[method]
        reason = (
            f"{rule} (reached sensitivity {achieved['sensitivity']:.3f}, specificity {achieved['specificity']:.3f})"
        )
    return ThresholdChoice(value, method, "validation", False, reason, achieved)


def threshold_block(choice: ThresholdChoice, event_threshold: float) -> dict[str, Any]:
    """The ``threshold`` entry of ``metrics.json``."""
    return {
        "method": choice.method,
        "chosen_on": choice.chosen_on,
        "fallback": choice.fallback,
        "reason": choice.reason,
        "achieved_on_validation": choice.achieved,
        "window": float(choice.value),
        "event": float(event_threshold),
    }
