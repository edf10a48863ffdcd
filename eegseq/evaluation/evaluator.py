"""One evaluation of a split: window, recording and event level, uncertainty, per-patient table.

:func:`evaluate` returns an :class:`EvaluationResult` whose ``metrics`` is exactly the
content of ``metrics.json`` (schema in ``docs/evaluation.md``, version
:data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eegseq.evaluation.bootstrap import bootstrap_intervals
from eegseq.evaluation.config import EvaluationConfig
from eegseq.evaluation.data import EvaluationSet
from eegseq.evaluation.detection import detect_events
from eegseq.evaluation.event_scoring import (
    ANNOTATION_FS,
    ScoreCounts,
    detection_latencies,
    latency_summary,
    score_recording,
    sum_counts,
)
from eegseq.evaluation.recording import RecordingScores, recording_metrics, recording_scores
from eegseq.evaluation.splits import small_split_warnings, summarise
from eegseq.evaluation.thresholds import choose_threshold, threshold_block
from eegseq.evaluation.window import ranking_metrics, threshold_metrics, window_metrics

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1.1"
HEADLINE_METRICS = (
    "window_roc_auc",
    "window_pr_auc",
    "window_sensitivity",
    "window_specificity",
    "recording_roc_auc",
    "event_sensitivity",
    "event_precision",
    "event_f1",
    "event_fp_per_24h",
)


@dataclass(frozen=True)
class EvaluationResult:
    """Outcome of :func:`evaluate`.

    Attributes:
        metrics: JSON-ready content of ``metrics.json``.
        config: the evaluation parameters used.
        threshold: window threshold on probabilities (chosen on validation or fixed).
        event_threshold: threshold on smoothed probabilities used for event detection.
        recording_scores: aggregated score and label per recording.
        detected_events: per recording, detected events ``(onset_s, duration_s)``, shape ``(k, 2)``.
    """

    metrics: dict[str, Any]
    config: EvaluationConfig
    threshold: float
    event_threshold: float
    recording_scores: RecordingScores
    detected_events: dict[str, NDArray[np.float64]]


@dataclass(frozen=True)
class _PerRecording:
    """What the headline statistic needs of each recording, in ``EvaluationSet.recordings`` order."""

    window_rows: list[NDArray[np.intp]]
    event_counts: list[ScoreCounts]


def _headline(
    chosen: NDArray[np.intp],
    data: EvaluationSet,
    scores: RecordingScores,
    per_recording: _PerRecording,
    threshold: float,
) -> dict[str, float | None]:
    """Headline metrics of the recordings ``chosen`` (indices, repeats allowed)."""
    rows = np.concatenate([per_recording.window_rows[i] for i in chosen])
    rows = rows[data.predictions.labelled[rows]]
    labels, probabilities = data.predictions.label[rows], data.predictions.probability[rows]
    window_ranking, _ = ranking_metrics(labels, probabilities)
    at_threshold, _ = threshold_metrics(labels, probabilities, threshold)
    recording_ranking, _ = ranking_metrics(scores.label[chosen], scores.score[chosen], "recordings")
    events, _ = sum_counts((per_recording.event_counts[i] for i in chosen), ANNOTATION_FS).scores()
    return {
        "window_roc_auc": window_ranking["roc_auc"],
        "window_pr_auc": window_ranking["pr_auc"],
        "window_sensitivity": at_threshold["sensitivity"],
        "window_specificity": at_threshold["specificity"],
        "recording_roc_auc": recording_ranking["roc_auc"],
        "event_sensitivity": events["sensitivity"],
        "event_precision": events["precision"],
        "event_f1": events["f1"],
        "event_fp_per_24h": events["fp_per_24h"],
    }


def _scoring_block(counts: ScoreCounts) -> dict[str, Any]:
    values, undefined = counts.scores()
    return {**values, "undefined": undefined}


def _patient_mean(blocks: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean over patients of each score, skipping patients where it is undefined (SzCORE's default)."""
    mean: dict[str, float | None] = {}
    for name in ("sensitivity", "precision", "f1", "fp_per_24h"):
        defined = [b[name] for b in blocks if b[name] is not None]
        mean[name] = float(np.mean(defined)) if defined else None
    return mean


def evaluate(
    data: EvaluationSet,
    config: EvaluationConfig,
    validation: EvaluationSet | None = None,
    split: str = "test",
    other_splits: Mapping[str, Mapping[str, Any]] | None = None,
) -> EvaluationResult:
    """Evaluate the predictions of one split at window, recording and event level.

    Args:
        data: the split to evaluate (window predictions, reference events, durations).
        config: evaluation parameters.
        validation: the validation split, on which the threshold is chosen
            (:mod:`eegseq.evaluation.thresholds`); may be None only when
            ``config.threshold_method == "fixed"``.
        split: name of the evaluated split, recorded in the metrics.
        other_splits: :func:`~eegseq.evaluation.splits.split_summary` of splits this
            evaluation does not see (e.g. ``{"train": ...}``), for the report's data table.

    Returns:
        The metrics (``metrics.json`` content) and what the plots and tables need.
    """
    choice = choose_threshold(config, validation)
    threshold = choice.value
    splits = dict(other_splits or {})
    if validation is not None:
        splits["val"] = summarise(validation)
    splits[split] = summarise(data)
    # The evaluated split, and the validation split when it chose the threshold.
    measured = [split] + (["val"] if choice.chosen_on == "validation" and split != "val" else [])
    warnings = small_split_warnings(splits, measured) + ([choice.reason] if choice.fallback else [])
    event_threshold = threshold if config.event_threshold is None else config.event_threshold
    predictions = data.predictions
    scores = recording_scores(predictions, config.aggregation, config.top_k)
    rows_by_recording = predictions.indices_by_recording()

    detected: dict[str, NDArray[np.float64]] = {}
    event_counts, sample_counts, latency_rows = [], [], []
    for rid in data.recordings:
        rows = rows_by_recording[rid]
        duration, reference = data.recording_durations_s[rid], data.reference_events[rid]
        detected[rid] = detect_events(
            predictions.start_s[rows],
            predictions.end_s[rows],
            predictions.probability[rows],
            event_threshold,
            smoothing_s=config.smoothing_s,
            min_duration_s=config.min_duration_s,
            merge_gap_s=config.merge_gap_s,
            duration_s=duration,
        )
        event, sample = score_recording(reference, detected[rid], duration, config)
        event_counts.append(event)
        sample_counts.append(sample)
        latencies = detection_latencies(reference, detected[rid], config.tolerance_start_s, config.tolerance_end_s)
        for (onset, length), latency in zip(reference, latencies):
            latency_rows.append(
                {
                    "recording": rid,
                    "onset_s": float(onset),
                    "duration_s": float(length),
                    "latency_s": None if np.isnan(latency) else float(latency),
                }
            )
    per_recording = _PerRecording([rows_by_recording[rid] for rid in data.recordings], event_counts)
    all_latencies = np.asarray([np.nan if r["latency_s"] is None else r["latency_s"] for r in latency_rows])

    patient_of = dict(zip(scores.recording.tolist(), scores.patient.tolist()))
    patients = sorted(set(patient_of.values()))
    recordings_of = {p: np.flatnonzero(scores.patient == p) for p in patients}

    def statistic(chosen: NDArray[np.intp]) -> dict[str, float | None]:
        return _headline(chosen, data, scores, per_recording, threshold)

    headline = statistic(np.arange(len(data.recordings)))
    intervals: dict[str, dict[str, Any]] = {}
    if config.bootstrap_resamples > 0:
        if config.bootstrap_unit == "patient":
            unit_recordings = [recordings_of[p] for p in patients]
        else:
            unit_recordings = [np.asarray([i]) for i in range(len(data.recordings))]
        intervals = bootstrap_intervals(
            len(unit_recordings),
            lambda units: statistic(np.concatenate([unit_recordings[u] for u in units])),
            config.bootstrap_resamples,
            config.bootstrap_seed,
            config.confidence_level,
        )

    per_patient_event, per_patient_sample, per_patient_rows = [], [], []
    for patient in patients:
        mine = recordings_of[patient]
        event_block = _scoring_block(sum_counts((event_counts[i] for i in mine), ANNOTATION_FS))
        sample_block = _scoring_block(sum_counts((sample_counts[i] for i in mine), config.sample_scoring_fs))
        per_patient_event.append(event_block)
        per_patient_sample.append(sample_block)
        patient_latencies = np.asarray(
            [r["latency_s"] for r in latency_rows if patient_of[r["recording"]] == patient], dtype=float
        )
        per_patient_rows.append(
            {
                "patient": patient,
                "n_recordings": int(mine.size),
                "hours": event_block["hours"],
                "n_reference_events": int(sum(data.reference_events[data.recordings[i]].shape[0] for i in mine)),
                "n_detected_events": int(sum(detected[data.recordings[i]].shape[0] for i in mine)),
                **statistic(mine),
                "median_latency_s": latency_summary(patient_latencies)["median_s"],
            }
        )

    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "split": split,
        "config": config.model_dump(mode="json"),
        "warnings": warnings,
        "splits": splits,
        "threshold": threshold_block(choice, event_threshold),
        "window": window_metrics(
            predictions.label[predictions.labelled],
            predictions.probability[predictions.labelled],
            threshold,
            config.calibration_bins,
        ),
        "recording": {"aggregation": config.aggregation, "top_k": config.top_k, **recording_metrics(scores)},
        "event": {
            "n_detected": int(sum(d.shape[0] for d in detected.values())),
            "event_scoring": _scoring_block(sum_counts(event_counts, ANNOTATION_FS)),
            "sample_scoring": _scoring_block(sum_counts(sample_counts, config.sample_scoring_fs)),
            "patient_mean": {
                "event_scoring": _patient_mean(per_patient_event),
                "sample_scoring": _patient_mean(per_patient_sample),
            },
            "latency": {**latency_summary(all_latencies), "per_seizure": latency_rows},
        },
        "headline": {
            name: {"value": headline[name], **intervals.get(name, {"low": None, "high": None, "n_valid": 0})}
            for name in HEADLINE_METRICS
        },
        "bootstrap": {
            "unit": config.bootstrap_unit,
            "n_resamples": config.bootstrap_resamples,
            "seed": config.bootstrap_seed,
            "confidence_level": config.confidence_level,
        },
        "per_patient": per_patient_rows,
        "per_recording": [
            {
                "recording": rid,
                "patient": patient_of[rid],
                "duration_s": data.recording_durations_s[rid],
                "label": int(scores.label[i]),
                "score": float(scores.score[i]),
                "n_windows": int(rows_by_recording[rid].size),
                "n_reference_events": int(data.reference_events[rid].shape[0]),
                "n_detected_events": int(detected[rid].shape[0]),
                "event_tp": event_counts[i].tp,
                "event_fp": event_counts[i].fp,
            }
            for i, rid in enumerate(data.recordings)
        ],
    }
    for warning in warnings:
        log.warning("evaluation of split %r: %s", split, warning)
    return EvaluationResult(metrics, config, float(threshold), float(event_threshold), scores, detected)


def with_baseline(result: EvaluationResult, baseline: EvaluationResult, description: str) -> EvaluationResult:
    """``result`` with the baseline's evaluation of the same split under ``metrics["baseline"]``.

    The baseline block holds its ``threshold`` (same rule, chosen on the baseline's own
    validation predictions), ``headline`` (with intervals), ``window`` (without the
    calibration curve), ``recording`` (pooled) and ``event`` (pooled scorings) entries; its
    warnings that the model's lack join them, prefixed ``baseline:``.
    """
    theirs = baseline.metrics
    block = {
        "description": description,
        "threshold": theirs["threshold"],
        "headline": theirs["headline"],
        "window": {key: value for key, value in theirs["window"].items() if key != "calibration"},
        "recording": {key: value for key, value in theirs["recording"].items() if key != "per_patient"},
        "event": {key: theirs["event"][key] for key in ("n_detected", "event_scoring", "sample_scoring")},
    }
    ours = result.metrics["warnings"]
    warnings = ours + [f"baseline: {warning}" for warning in theirs["warnings"] if warning not in ours]
    return replace(result, metrics={**result.metrics, "warnings": warnings, "baseline": block})
