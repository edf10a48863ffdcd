"""Window-level metrics against hand-computed values."""

import numpy as np
import pytest

from eegseq.evaluation.window import calibration, threshold_metrics, window_metrics

# Hand case. Positives: 0.35, 0.8, 0.9. Negatives: 0.1, 0.4, 0.2, 0.6, 0.05.
LABELS = np.array([0, 0, 1, 1, 0, 1, 0, 0])
PROBS = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.05])


def test_window_metrics_match_hand_computation():
    m = window_metrics(LABELS, PROBS, threshold=0.5, calibration_bins=2)
    # ROC-AUC: positive/negative pairs ranked right: 0.35 beats 3 negatives, 0.8 and 0.9 beat all 5 -> 13/15.
    assert m["roc_auc"] == pytest.approx(13 / 15)
    # Average precision: ranked 0.9(+) 0.8(+) 0.6 0.4 0.35(+): precision at each hit 1, 1, 3/5 -> mean 2.6/3.
    assert m["pr_auc"] == pytest.approx(2.6 / 3)
    # At 0.5: predicted positive 0.8, 0.9, 0.6 -> TP 2, FP 1, FN 1 (0.35), TN 4.
    assert m["confusion_matrix"] == {"tn": 4, "fp": 1, "fn": 1, "tp": 2}
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(4 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(4 / 6)  # 2TP / (2TP + FP + FN)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    # Brier: squared errors 0.01 0.16 0.4225 0.04 0.04 0.01 0.36 0.0025 -> sum 1.045 / 8.
    assert m["brier"] == pytest.approx(1.045 / 8)
    assert (m["n_windows"], m["n_positive"], m["n_negative"]) == (8, 3, 5)
    assert m["undefined"] == {}


def test_threshold_is_inclusive():
    # At exactly 0.8 the 0.8 window is predicted positive (>=): TP 2 (0.8, 0.9), FP 0.
    m, _ = threshold_metrics(LABELS, PROBS, 0.8)
    assert m["confusion_matrix"] == {"tn": 5, "fp": 0, "fn": 1, "tp": 2}


def test_calibration_curve_two_bins():
    # Bin [0, 0.5]: 0.1 0.4 0.35 0.2 0.05 -> mean 0.22, one positive of 5 -> 0.2.
    # Bin (0.5, 1]: 0.8 0.9 0.6 -> mean 2.3/3, two positives of 3.
    c = calibration(LABELS, PROBS, n_bins=2)
    assert c["mean_predicted"] == pytest.approx([0.22, 2.3 / 3])
    assert c["fraction_positive"] == pytest.approx([0.2, 2 / 3])
    assert c["count"] == [5, 3]


def test_no_positive_windows_reports_null_with_reason():
    labels = np.zeros(5, int)
    m = window_metrics(labels, np.array([0.1, 0.2, 0.7, 0.4, 0.9]), 0.5, 5)
    assert m["roc_auc"] is None and m["pr_auc"] is None
    assert m["undefined"]["roc_auc"] == "no positive windows"
    assert m["sensitivity"] is None and "sensitivity" in m["undefined"]
    assert m["specificity"] == pytest.approx(3 / 5)  # 0.1 0.2 0.4 below 0.5
    assert m["precision"] == 0.0  # 2 predicted positive, none true
    assert m["balanced_accuracy"] is None


def test_no_negative_windows_reports_null_with_reason():
    m = window_metrics(np.ones(3, int), np.array([0.2, 0.6, 0.9]), 0.5, 5)
    assert m["roc_auc"] is None and m["undefined"]["roc_auc"] == "no negative windows"
    assert m["specificity"] is None
    assert m["sensitivity"] == pytest.approx(2 / 3)
