"""One evaluation of a split: window, recording and event level, uncertainty, per-patient table.

Its parts have their own modules: event detection and scoring per recording
(:mod:`.per_recording`), pooling per patient (:mod:`.per_patient`); this module chooses the
threshold, computes the headline metrics with their intervals and assembles the document.
:func:`evaluate` returns an :class:`EvaluationResult` whose ``metrics`` is exactly the
content of ``metrics.json`` (schema in ``docs/evaluation.md``, version
:data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eegseq.evaluation.bootstrap import bootstrap_intervals
from eegseq.evaluation.config import EvaluationConfig
from eegseq.evaluation.data import EvaluationSet
from eegseq.evaluation.event_scoring import ANNOTATION_FS, latency_summary, sum_counts
from eegseq.evaluation.per_patient import PatientTable, patient_table, recordings_by_patient, scoring_block
from eegseq.evaluation.per_recording import RecordingOutcomes, score_recordings
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


def _headline(
    chosen: NDArray[np.intp],
    data: EvaluationSet,
    scores: RecordingScores,
    outcomes: RecordingOutcomes,
    threshold: float,
) -> dict[str, float | None]:
    """Headline metrics of the recordings ``chosen`` (indices, repeats allowed)."""
    rows = np.concatenate([outcomes.window_rows[i] for i in chosen])
    rows = rows[data.predictions.labelled[rows]]
    labels, probabilities = data.predictions.label[rows], data.predictions.probability[rows]
    window_ranking, _ = ranking_metrics(labels, probabilities)
    at_threshold, _ = threshold_metrics(labels, probabilities, threshold)
    recording_ranking, _ = ranking_metrics(scores.label[chosen], scores.score[chosen], "recordings")
    events, _ = sum_counts((outcomes.event_counts[i] for i in chosen), ANNOTATION_FS).scores()
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
    scores = recording_scores(data.predictions, config.aggregation, config.top_k)
    outcomes = score_recordings(data, config, event_threshold)

    def statistic(chosen: NDArray[np.intp]) -> dict[str, float | None]:
        return _headline(chosen, data, scores, outcomes, threshold)

    headline = statistic(np.arange(len(data.recordings)))
    intervals = _intervals(statistic, scores, len(data.recordings), config)
    patients = patient_table(data, scores, outcomes, statistic, config)
    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "split": split,
        "config": config.model_dump(mode="json"),
        "warnings": warnings,
        "splits": splits,
        "threshold": threshold_block(choice, event_threshold),
        **_levels(data, config, threshold, scores, outcomes, patients),
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
        "per_patient": patients.rows,
        "per_recording": _recording_rows(data, scores, outcomes),
    }
    for warning in warnings:
        log.warning("evaluation of split %r: %s", split, warning)
    return EvaluationResult(metrics, config, float(threshold), float(event_threshold), scores, outcomes.detected)


def _intervals(
    statistic: Callable[[NDArray[np.intp]], dict[str, float | None]],
    scores: RecordingScores,
    n_recordings: int,
    config: EvaluationConfig,
) -> dict[str, dict[str, Any]]:
    """Bootstrap confidence intervals of the headline ``statistic``, resampling patients or recordings."""
    if config.bootstrap_resamples <= 0:
        return {}
    if config.bootstrap_unit == "patient":
        unit_recordings = list(recordings_by_patient(scores).values())
    else:
        unit_recordings = [np.asarray([i]) for i in range(n_recordings)]
    return bootstrap_intervals(
        len(unit_recordings),
        lambda units: statistic(np.concatenate([unit_recordings[u] for u in units])),
        config.bootstrap_resamples,
        config.bootstrap_seed,
        config.confidence_level,
    )


def _levels(
    data: EvaluationSet,
    config: EvaluationConfig,
    threshold: float,
    scores: RecordingScores,
    outcomes: RecordingOutcomes,
    patients: PatientTable,
) -> dict[str, Any]:
    """The ``window``, ``recording`` and ``event`` sections of the document."""
    predictions = data.predictions
    latencies = np.asarray([np.nan if r["latency_s"] is None else r["latency_s"] for r in outcomes.latencies])
    return {
        "window": window_metrics(
            predictions.label[predictions.labelled],
            predictions.probability[predictions.labelled],
            threshold,
            config.calibration_bins,
        ),
        "recording": {"aggregation": config.aggregation, "top_k": config.top_k, **recording_metrics(scores)},
        "event": {
            "n_detected": int(sum(d.shape[0] for d in outcomes.detected.values())),
            "event_scoring": scoring_block(sum_counts(outcomes.event_counts, ANNOTATION_FS)),
            "sample_scoring": scoring_block(sum_counts(outcomes.sample_counts, config.sample_scoring_fs)),
            "patient_mean": patients.mean,
            "latency": {**latency_summary(latencies), "per_seizure": outcomes.latencies},
        },
    }


def _recording_rows(data: EvaluationSet, scores: RecordingScores, outcomes: RecordingOutcomes) -> list[dict[str, Any]]:
    """The document's ``per_recording`` rows, in ``EvaluationSet.recordings`` order."""
    patient_of = dict(zip(scores.recording.tolist(), scores.patient.tolist()))
    return [
        {
            "recording": rid,
            "patient": patient_of[rid],
            "duration_s": data.recording_durations_s[rid],
            "label": int(scores.label[i]),
            "score": float(scores.score[i]),
            "n_windows": int(outcomes.window_rows[i].size),
            "n_reference_events": int(data.reference_events[rid].shape[0]),
            "n_detected_events": int(outcomes.detected[rid].shape[0]),
            "event_tp": outcomes.event_counts[i].tp,
            "event_fp": outcomes.event_counts[i].fp,
        }
        for i, rid in enumerate(data.recordings)
    ]


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
