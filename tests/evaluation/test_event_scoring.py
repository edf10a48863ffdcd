"""SzCORE scoring (timescoring 0.0.7) on hand-made event sets, and detection latency.

Expected counts follow timescoring's documented rules, with its defaults: a reference event
is extended by 30 s before and 60 s after; any overlap of a detection with the extended
event is a true positive; a detection that overlaps no detected (extended) reference event
is a false positive; events closer than 90 s are merged and events longer than 300 s are
split; FP/24h = FP / (recording hours / 24).
"""

import numpy as np
import pytest

from eegseq.evaluation.config import EvaluationConfig
from eegseq.evaluation.event_scoring import (
    ScoreCounts,
    detection_latencies,
    latency_summary,
    score_recording,
    sum_counts,
)

HOUR = 3600.0
DEFAULTS = EvaluationConfig()


def _events(*pairs):
    return np.array(pairs, dtype=float).reshape(-1, 2)


@pytest.mark.parametrize(
    ("hypothesis", "tp", "fp"),
    [
        (_events((590, 20)), 1, 0),  # overlaps the seizure itself
        (_events((700, 10)), 1, 0),  # after the end (660) but within the 60-s end tolerance (720)
        (_events((535, 30)), 0, 1),  # ends at 565, before the 30-s start tolerance (570)
        (_events((800, 10)), 0, 1),  # starts after 720: false alarm, seizure missed
        (_events((590, 20), (800, 10)), 1, 1),  # 190 s apart: not merged, one hit one false alarm
        (_events((590, 20), (640, 30)), 1, 0),  # 30 s apart: merged into one detection
    ],
)
def test_event_scoring_one_seizure(hypothesis, tp, fp):
    event, _ = score_recording(_events((600, 60)), hypothesis, HOUR, DEFAULTS)
    assert (event.tp, event.fp, event.ref_true) == (tp, fp, 1)


def test_event_scoring_merging_and_splitting_of_false_alarms():
    # No seizure. (2000,10)+(2050,10): 40 s apart -> merged, 1 FP. (3000,10) and (3200,10): 2 FPs.
    # (1000, 700 s) is split into 300 + 300 + 100 s -> 3 FPs. Total 6 FPs in one hour.
    hypothesis = _events((1000, 700), (2000, 10), (2050, 10), (3000, 10), (3200, 10))
    event, _ = score_recording(np.zeros((0, 2)), hypothesis, 4000.0, DEFAULTS)
    assert (event.tp, event.fp, event.ref_true) == (0, 6, 0)
    scores, undefined = event.scores()
    assert scores["sensitivity"] is None and undefined["sensitivity"] == "no reference events"
    assert scores["precision"] == 0.0
    assert scores["f1"] == 0.0  # 2*0 / (0 + 6 + 0)
    assert scores["fp_per_24h"] == pytest.approx(6 / (4000 / 86400))


def test_tolerances_are_configurable():
    # With no end tolerance, a detection 40 s after the seizure end is a false alarm.
    strict = EvaluationConfig(tolerance_end_s=0.0)
    event, _ = score_recording(_events((600, 60)), _events((700, 10)), HOUR, strict)
    assert (event.tp, event.fp) == (0, 1)
    # min_overlap 0.5 of the extended event (570..720, 150 s): a 20-s detection is too little.
    event, _ = score_recording(_events((600, 60)), _events((590, 20)), HOUR, EvaluationConfig(min_overlap=0.5))
    assert (event.tp, event.fp) == (0, 1)


def test_pooled_over_recordings():
    # Recording 1 (1 h): seizure at 600 s hit, false alarm at 800 s -> TP 1, FP 1, ref 1.
    # Recording 2 (1 h): seizure at 100 s missed -> TP 0, FP 0, ref 1.
    first, _ = score_recording(_events((600, 60)), _events((590, 20), (800, 10)), HOUR, DEFAULTS)
    second, _ = score_recording(_events((100, 30)), np.zeros((0, 2)), HOUR, DEFAULTS)
    pooled, undefined = sum_counts([first, second], first.fs).scores()
    assert (pooled["tp"], pooled["fp"], pooled["ref_true"]) == (1, 1, 2)
    assert pooled["sensitivity"] == pytest.approx(0.5)
    assert pooled["precision"] == pytest.approx(0.5)
    assert pooled["f1"] == pytest.approx(2 / (2 + 1 + 1))
    assert pooled["fp_per_24h"] == pytest.approx(12.0)  # 1 FP in 2 h
    assert pooled["hours"] == pytest.approx(2.0)
    assert undefined == {}


def test_sample_scoring_by_hand():
    # 1 Hz samples over 100 s. Reference 10..30 s (20 samples), detection 20..40 s:
    # TP samples 20..29 (10), FP samples 30..39 (10).
    _, sample = score_recording(_events((10, 20)), _events((20, 20)), 100.0, DEFAULTS)
    assert (sample.tp, sample.fp, sample.ref_true, sample.num_samples, sample.fs) == (10, 10, 20, 100, 1)
    scores, _ = sample.scores()
    assert scores["sensitivity"] == pytest.approx(0.5)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(20 / (20 + 10 + 10))
    assert scores["fp_per_24h"] == pytest.approx(10 / (100 / 86400))


def test_counts_of_different_rates_do_not_add():
    with pytest.raises(ValueError, match="Hz"):
        ScoreCounts(0, 0, 0, 10, 1) + ScoreCounts(0, 0, 0, 10, 10)


def test_detection_latency():
    reference = _events((600, 60), (2000, 30))
    # Seizure 1, extended window (570, 720): (560, 575) and (610, 660) overlap; earliest onset 560 -> -40 s.
    # (540, 570) only touches 570 and does not count. Seizure 2, window (1970, 2090): 2200 is outside.
    detected = _events((540, 30), (560, 15), (610, 50), (2200, 10))
    latencies = detection_latencies(reference, detected, 30.0, 60.0)
    assert latencies[0] == pytest.approx(-40.0)
    assert np.isnan(latencies[1])
    summary = latency_summary(latencies)
    assert (summary["n_reference"], summary["n_detected"]) == (2, 1)
    assert summary["median_s"] == pytest.approx(-40.0)


def test_detection_latency_positive_and_tolerance():
    # Detection starts 25 s into the seizure: latency +25. Without tolerances, one 5 s after the end misses.
    assert detection_latencies(_events((100, 60)), _events((125, 40)), 30, 60).tolist() == [25.0]
    assert np.isnan(detection_latencies(_events((100, 60)), _events((165, 10)), 0, 0)[0])
    assert latency_summary(np.array([np.nan]))["median_s"] is None
