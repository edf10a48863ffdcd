"""Threshold rules on hand-computed cases, and the fallback when a rule cannot be applied."""

import numpy as np
import pytest

from eegseq.evaluation import EvaluationConfig, EvaluationSet, WindowPredictions, evaluate
from eegseq.evaluation.thresholds import choose_threshold, event_sweep, max_fp_threshold, window_threshold

# Positives: 0.35, 0.8, 0.9. Negatives: 0.05, 0.1, 0.2, 0.4, 0.6.
LABELS = np.array([0, 0, 1, 1, 0, 1, 0, 0])
PROBS = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.05])


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        # J = TPR - FPR per threshold: 0.9: 1/3-0; 0.8: 2/3-0 (max); 0.6: 2/3-1/5; 0.35: 1-2/5.
        ("youden", 0.0, 0.8),
        # Highest threshold with TPR >= 0.9 is 0.35 (TPR 1); >= 0.5 is 0.8 (TPR 2/3).
        ("target_sensitivity", 0.9, 0.35),
        ("target_sensitivity", 0.5, 0.8),
        # Specificity per threshold: 0.9 and 0.8: 1; 0.6: 4/5; 0.4 and 0.35: 3/5; 0.2: 2/5.
        # Lowest threshold keeping >= 1: 0.8; >= 0.8: 0.6; >= 0.6: 0.35.
        ("target_specificity", 1.0, 0.8),
        ("target_specificity", 0.8, 0.6),
        ("target_specificity", 0.6, 0.35),
    ],
)
def test_window_rules_by_hand(method, target, expected):
    value, _ = window_threshold(LABELS, PROBS, method, target)
    assert value == pytest.approx(expected)


def _hour(windows: dict[float, float]) -> np.ndarray:
    """Probabilities of 360 ten-second windows of one hour: 0 except ``{start_s: probability}``."""
    probability = np.zeros(360)
    for start, value in windows.items():
        probability[int(start // 10)] = value
    return probability


def _two_hours() -> EvaluationSet:
    """Recording A: seizure 600-660 s scored 0.9, false alarms 0.7 at 2000 s and 0.4 at 3000 s.
    Recording B: seizure 1800-1830 s scored 0.5, false alarms 0.6 at 1000 s and 0.3 at 2500 s.
    All other windows 0; windows are 10 s, every event is > 90 s from the others."""
    a = _hour({600: 0.9, 610: 0.9, 620: 0.9, 630: 0.9, 640: 0.9, 650: 0.9, 2000: 0.7, 3000: 0.4})
    b = _hour({1800: 0.5, 1810: 0.5, 1820: 0.5, 1000: 0.6, 2500: 0.3})
    starts = np.arange(360) * 10.0
    seizure_a, seizure_b = (starts >= 600) & (starts < 660), (starts >= 1800) & (starts < 1830)
    predictions = WindowPredictions(
        recording=["A"] * 360 + ["B"] * 360,
        patient=["p1"] * 360 + ["p2"] * 360,
        start_s=np.concatenate([starts, starts]),
        end_s=np.concatenate([starts, starts]) + 10.0,
        probability=np.concatenate([a, b]),
        label=np.concatenate([seizure_a, seizure_b]).astype(int),
    )
    return EvaluationSet(predictions, {"A": 3600.0, "B": 3600.0}, {"A": [[600.0, 60.0]], "B": [[1800.0, 30.0]]})


def test_event_sweep_by_hand():
    config = EvaluationConfig(threshold_method="max_fp_per_24h")
    sweep = event_sweep(_two_hours(), config)
    assert sweep.hours == pytest.approx(2.0) and sweep.ref_true == 2
    # Thresholds at each distinct probability; one false positive is 12 per 24 h in 2 hours.
    # (0.7, 0.9]: A's seizure, no FP; (0.6, 0.7]: +1 FP; (0.5, 0.6]: +1 FP; (0.4, 0.5]: B's seizure;
    # (0.3, 0.4]: +1 FP. At 0 every window is active (one long event per recording).
    expected = {0.9: (1, 0), 0.7: (1, 1), 0.6: (1, 2), 0.5: (2, 2), 0.4: (2, 3), 0.3: (2, 4)}
    for threshold, (tp, fp) in expected.items():
        at = int(np.flatnonzero(np.isclose(sweep.thresholds, threshold))[0])
        assert (sweep.tp[at], sweep.fp[at]) == (tp, fp), threshold
        assert sweep.fp_per_24h[at] == pytest.approx(12.0 * fp)
    assert (sweep.tp[-1], sweep.fp[-1]) == (0, 0)  # above every probability: nothing detected


@pytest.mark.parametrize(
    ("bound", "expected", "sensitivity", "fp_rate"),
    [
        # Both seizures need a threshold <= 0.5, where 2 FP (24 per 24 h) come along: within 30.
        # The thresholds giving (2 TP, 2 FP) are (0.4, 0.5]: the middle is 0.45.
        (30.0, 0.45, 1.0, 24.0),
        # Under 20 per 24 h only A's seizure is found; the fewest FP (0) holds on (0.7, 0.9].
        (20.0, 0.8, 0.5, 0.0),
        (0.0, 0.8, 0.5, 0.0),
    ],
)
def test_max_fp_per_24h_by_hand(bound, expected, sensitivity, fp_rate):
    sweep = event_sweep(_two_hours(), EvaluationConfig(threshold_method="max_fp_per_24h"))
    value, achieved = max_fp_threshold(sweep, bound)
    assert value == pytest.approx(expected)
    assert achieved == pytest.approx({"event_sensitivity": sensitivity, "event_fp_per_24h": fp_rate})


def test_max_fp_per_24h_in_an_evaluation_reports_its_reason():
    data = _two_hours()
    config = EvaluationConfig(threshold_method="max_fp_per_24h", max_fp_per_24h=30.0, bootstrap_resamples=0)
    result = evaluate(data, config, validation=data)
    block = result.metrics["threshold"]
    assert result.threshold == pytest.approx(0.45) and block["chosen_on"] == "validation" and not block["fallback"]
    assert "30 false positives per 24 h" in block["reason"]
    # Applied to the same split it reaches what it promised on validation.
    assert result.metrics["event"]["event_scoring"]["fp_per_24h"] == pytest.approx(24.0)
    assert result.metrics["event"]["event_scoring"]["sensitivity"] == 1.0


@pytest.mark.parametrize("method", ["youden", "target_sensitivity", "target_specificity", "max_fp_per_24h"])
def test_rule_without_validation_positives_falls_back_with_a_warning(make_split, test_set, method, caplog):
    no_seizures = make_split(seed=4, n_recordings=3, with_seizures=False)
    config = EvaluationConfig(threshold_method=method, fixed_threshold=0.7, bootstrap_resamples=0)
    choice = choose_threshold(config, no_seizures)
    assert (choice.value, choice.fallback, choice.chosen_on) == (0.7, True, "config")
    result = evaluate(test_set, config, validation=no_seizures)
    assert result.threshold == 0.7
    assert any("fell back to fixed_threshold 0.7" in w for w in result.metrics["warnings"])
    assert "fell back" in caplog.text


def test_max_fp_needs_the_event_threshold_free():
    with pytest.raises(ValueError, match="event_threshold must be null"):
        EvaluationConfig(threshold_method="max_fp_per_24h", event_threshold=0.5)
