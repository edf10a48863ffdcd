"""Event and sample scoring of detected events with SzCORE's reference scorer, plus latency.

The scorer is the ``timescoring`` package (pinned: its versions define F1 differently).
Each recording is scored on its own (events never merge across recordings); counts are
then summed over recordings and turned into scores by ``timescoring``'s own formulas, as
``szcore-evaluation`` does for a dataset.

Events everywhere are arrays of shape ``(k, 2)`` holding ``(onset_s, duration_s)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from timescoring import scoring
from timescoring.annotations import Annotation

from eegseq.evaluation.config import EvaluationConfig

# Resolution of the annotations we hand to the scorer: EventScoring itself works at 10 Hz.
ANNOTATION_FS = 10
_UNDEFINED_REASONS = {
    "sensitivity": "no reference events",
    "precision": "no detected events",
    "f1": "no reference and no detected events",
}


@dataclass(frozen=True)
class ScoreCounts:
    """Counts of one scoring (event or sample) over one or more recordings.

    Attributes:
        tp: true detections (events) or true positive samples.
        fp: false detections (events) or false positive samples.
        ref_true: reference events, or reference positive samples.
        num_samples: length of the scored recordings in samples at ``fs``.
        fs: sampling rate of the scoring, Hz.
    """

    tp: int
    fp: int
    ref_true: int
    num_samples: int
    fs: int

    def __add__(self, other: ScoreCounts) -> ScoreCounts:
        if other.fs != self.fs:
            raise ValueError(f"cannot add scorings at {self.fs} Hz and {other.fs} Hz")
        return ScoreCounts(
            self.tp + other.tp,
            self.fp + other.fp,
            self.ref_true + other.ref_true,
            self.num_samples + other.num_samples,
            self.fs,
        )

    @property
    def hours(self) -> float:
        """Duration of the scored recordings, hours."""
        return self.num_samples / self.fs / 3600

    def scores(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Counts and scores, with ``None`` (and a reason in the second dict) when undefined.

        Scores come from ``timescoring``'s ``computeScores`` so that F1 and the false-alarm
        rate are defined exactly as by the pinned scorer: ``sensitivity`` = TP/ref,
        ``precision`` = TP/(TP+FP), ``f1`` = 2TP/(2TP+FP+FN), ``fp_per_24h`` = FP per day.
        """
        # _Scoring is the base class that holds timescoring's formulas; the pin keeps it there.
        summed = scoring._Scoring()
        summed.fs, summed.numSamples = self.fs, self.num_samples
        summed.tp, summed.fp, summed.refTrue = self.tp, self.fp, self.ref_true
        summed.computeScores()
        values = {
            "sensitivity": float(summed.sensitivity),
            "precision": float(summed.precision),
            "f1": float(summed.f1),
            "fp_per_24h": float(summed.fpRate),
        }
        undefined = {name: _UNDEFINED_REASONS[name] for name, v in values.items() if np.isnan(v)}
        result: dict[str, Any] = {"tp": self.tp, "fp": self.fp, "ref_true": self.ref_true, "hours": self.hours}
        result.update({name: (None if np.isnan(v) else v) for name, v in values.items()})
        return result, undefined


def sum_counts(counts: Iterable[ScoreCounts], fs: int) -> ScoreCounts:
    """Sum of ``counts`` (all at ``fs`` Hz); zero counts when empty."""
    total = ScoreCounts(0, 0, 0, 0, fs)
    for item in counts:
        total = total + item
    return total


def scorer_parameters(config: EvaluationConfig) -> scoring.EventScoring.Parameters:
    """``timescoring`` event-scoring parameters from ``config`` (tolerances in seconds)."""
    return scoring.EventScoring.Parameters(
        toleranceStart=config.tolerance_start_s,
        toleranceEnd=config.tolerance_end_s,
        minOverlap=config.min_overlap,
        maxEventDuration=config.max_event_duration_s,
        minDurationBetweenEvents=config.min_duration_between_events_s,
    )


def to_annotation(events: NDArray[np.floating], duration_s: float) -> Annotation:
    """``timescoring`` Annotation at :data:`ANNOTATION_FS` of ``events`` in a recording of ``duration_s``."""
    spans = [(float(onset), float(onset + length)) for onset, length in np.asarray(events).reshape(-1, 2)]
    return Annotation(sorted(spans), ANNOTATION_FS, int(round(duration_s * ANNOTATION_FS)))


def score_recording(
    reference: NDArray[np.floating], detected: NDArray[np.floating], duration_s: float, config: EvaluationConfig
) -> tuple[ScoreCounts, ScoreCounts]:
    """Event-scoring and sample-scoring counts of one recording.

    Args:
        reference: reference events, shape ``(n, 2)``.
        detected: detected events, shape ``(m, 2)``.
        duration_s: recording duration, seconds.
        config: tolerances and the sample-scoring rate.

    Returns:
        ``(event_counts, sample_counts)``.
    """
    ref, hyp = to_annotation(reference, duration_s), to_annotation(detected, duration_s)
    event = scoring.EventScoring(ref, hyp, scorer_parameters(config))
    sample = scoring.SampleScoring(ref, hyp, fs=config.sample_scoring_fs)
    return (
        ScoreCounts(int(event.tp), int(event.fp), int(event.refTrue), int(event.numSamples), int(event.fs)),
        ScoreCounts(int(sample.tp), int(sample.fp), int(sample.refTrue), int(sample.numSamples), int(sample.fs)),
    )


def detection_latencies(
    reference: NDArray[np.floating],
    detected: NDArray[np.floating],
    tolerance_start_s: float,
    tolerance_end_s: float,
) -> NDArray[np.float64]:
    """Latency of the first detection of each reference seizure, seconds.

    A detection counts for a seizure when it overlaps the seizure extended by the scorer's
    tolerances, ``(onset - tolerance_start_s, end + tolerance_end_s)`` (any overlap, the
    scorer's default ``min_overlap=0``). The latency is the earliest such detection's onset
    minus the seizure onset: negative when the detection starts before the seizure.

    Args:
        reference: reference seizures as given (not merged or split as the scorer does),
            shape ``(n, 2)``.
        detected: detected events, shape ``(m, 2)``.

    Returns:
        Shape ``(n,)``: latency per reference seizure, ``NaN`` where it is not detected.
    """
    reference = np.asarray(reference, dtype=np.float64).reshape(-1, 2)
    detected = np.asarray(detected, dtype=np.float64).reshape(-1, 2)
    latencies = np.full(reference.shape[0], np.nan)
    for i, (onset, length) in enumerate(reference):
        window_start, window_end = onset - tolerance_start_s, onset + length + tolerance_end_s
        hits = (detected[:, 0] < window_end) & (detected[:, 0] + detected[:, 1] > window_start)
        if np.any(hits):
            latencies[i] = detected[hits, 0].min() - onset
    return latencies


def latency_summary(latencies: NDArray[np.floating]) -> dict[str, Any]:
    """``{"n_reference", "n_detected", "median_s", "mean_s", "min_s", "max_s"}`` of latencies (NaN = missed)."""
    found = latencies[~np.isnan(latencies)]
    stats = {"median_s": np.median, "mean_s": np.mean, "min_s": np.min, "max_s": np.max}
    return {
        "n_reference": int(latencies.size),
        "n_detected": int(found.size),
        **{name: (float(fn(found)) if found.size else None) for name, fn in stats.items()},
    }
