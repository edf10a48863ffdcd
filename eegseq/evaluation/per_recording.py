"""Per recording of a split: detected events, their event- and sample-based scoring, detection latencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eegseq.evaluation.config import EvaluationConfig
from eegseq.evaluation.data import EvaluationSet
from eegseq.evaluation.detection import detect_events
from eegseq.evaluation.event_scoring import ScoreCounts, detection_latencies, score_recording


@dataclass(frozen=True)
class RecordingOutcomes:
    """Event detection on every recording of a split, lists in ``EvaluationSet.recordings`` order.

    Attributes:
        window_rows: each recording's window rows in the predictions, in time order.
        detected: per recording id, detected events ``(onset_s, duration_s)``, shape ``(k, 2)``.
        event_counts: each recording's event-based (SzCORE) counts.
        sample_counts: each recording's sample-based counts.
        latencies: one entry per reference seizure: ``recording``, ``onset_s``, ``duration_s``,
            ``latency_s`` (None when the seizure was missed).
    """

    window_rows: list[NDArray[np.intp]]
    detected: dict[str, NDArray[np.float64]]
    event_counts: list[ScoreCounts]
    sample_counts: list[ScoreCounts]
    latencies: list[dict[str, Any]]


def score_recordings(data: EvaluationSet, config: EvaluationConfig, event_threshold: float) -> RecordingOutcomes:
    """Detect events in each recording's probabilities at ``event_threshold`` and score them
    against its reference seizures."""
    predictions = data.predictions
    rows_by_recording = predictions.indices_by_recording()
    detected: dict[str, NDArray[np.float64]] = {}
    event_counts, sample_counts, latencies = [], [], []
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
        found = detection_latencies(reference, detected[rid], config.tolerance_start_s, config.tolerance_end_s)
        for (onset, length), latency in zip(reference, found):
            latencies.append(
                {
                    "recording": rid,
                    "onset_s": float(onset),
                    "duration_s": float(length),
                    "latency_s": None if np.isnan(latency) else float(latency),
                }
            )
    window_rows = [rows_by_recording[rid] for rid in data.recordings]
    return RecordingOutcomes(window_rows, detected, event_counts, sample_counts, latencies)
