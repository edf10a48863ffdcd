"""Per patient: each patient's recordings pooled, and the mean over patients (SzCORE's default)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eegseq.evaluation.config import EvaluationConfig
from eegseq.evaluation.data import EvaluationSet
from eegseq.evaluation.event_scoring import ANNOTATION_FS, ScoreCounts, latency_summary, sum_counts
from eegseq.evaluation.per_recording import RecordingOutcomes
from eegseq.evaluation.recording import RecordingScores


def scoring_block(counts: ScoreCounts) -> dict[str, Any]:
    """The scores of pooled ``counts`` with the reasons of the undefined ones (``undefined``)."""
    values, undefined = counts.scores()
    return {**values, "undefined": undefined}


def recordings_by_patient(scores: RecordingScores) -> dict[str, NDArray[np.intp]]:
    """Each patient's recordings (indices into ``scores``, i.e. ``EvaluationSet.recordings``), patients sorted."""
    return {patient: np.flatnonzero(scores.patient == patient) for patient in sorted(set(scores.patient.tolist()))}


@dataclass(frozen=True)
class PatientTable:
    """Attributes:
    rows: one row per patient (``metrics.json`` ``per_patient``).
    mean: mean over patients of the event- and sample-based scores (``event.patient_mean``).
    """

    rows: list[dict[str, Any]]
    mean: dict[str, dict[str, float | None]]


def patient_table(
    data: EvaluationSet,
    scores: RecordingScores,
    outcomes: RecordingOutcomes,
    statistic: Callable[[NDArray[np.intp]], dict[str, float | None]],
    config: EvaluationConfig,
) -> PatientTable:
    """Pool each patient's recordings: counts, scorings, the headline ``statistic`` of its recordings
    (indices into ``EvaluationSet.recordings``) and the median detection latency."""
    patient_of = dict(zip(scores.recording.tolist(), scores.patient.tolist()))
    by_patient = recordings_by_patient(scores)
    event_blocks, sample_blocks, rows = [], [], []
    for patient, mine in by_patient.items():
        event_block = scoring_block(sum_counts((outcomes.event_counts[i] for i in mine), ANNOTATION_FS))
        sample_block = scoring_block(sum_counts((outcomes.sample_counts[i] for i in mine), config.sample_scoring_fs))
        event_blocks.append(event_block)
        sample_blocks.append(sample_block)
        latencies = np.asarray(
            [r["latency_s"] for r in outcomes.latencies if patient_of[r["recording"]] == patient], dtype=float
        )
        rows.append(
            {
                "patient": patient,
                "n_recordings": int(mine.size),
                "hours": event_block["hours"],
                "n_reference_events": int(sum(data.reference_events[data.recordings[i]].shape[0] for i in mine)),
                "n_detected_events": int(sum(outcomes.detected[data.recordings[i]].shape[0] for i in mine)),
                **statistic(mine),
                "median_latency_s": latency_summary(latencies)["median_s"],
            }
        )
    mean = {"event_scoring": _patient_mean(event_blocks), "sample_scoring": _patient_mean(sample_blocks)}
    return PatientTable(rows, mean)


def _patient_mean(blocks: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean over patients of each score, skipping patients where it is undefined (SzCORE's default)."""
    mean: dict[str, float | None] = {}
    for name in ("sensitivity", "precision", "f1", "fp_per_24h"):
        defined = [b[name] for b in blocks if b[name] is not None]
        mean[name] = float(np.mean(defined)) if defined else None
    return mean
