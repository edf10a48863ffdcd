"""The comparison's statistics on hand-checkable numbers: spread, paired bootstrap, findings."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from eegseq.pipelines.compare_resample import roc_auc
from eegseq.pipelines.compare_stats import (
    Draws,
    finding,
    mean_std,
    paired_differences,
    paired_point,
    percentile_interval,
    sample_size_finding,
    tie_finding,
)


def test_mean_std_uses_the_sample_deviation_and_skips_undefined():
    stats = mean_std([1.0, None, 3.0, float("nan"), 5.0])
    assert stats == {"mean": 3.0, "std": 2.0, "n": 3}  # deviations -2, 0, 2: sqrt(8 / 2)
    assert mean_std([0.7]) == {"mean": 0.7, "std": 0.0, "n": 1}
    assert mean_std([None]) == {"mean": None, "std": None, "n": 0}


def test_paired_differences_by_hand():
    # 3 seeds x 2 resamples. Seed 2's variant run diverged (NaN): its pairs never count.
    variant = np.array([[0.9, 0.8], [0.7, 0.6], [np.nan, np.nan]])
    baseline = np.array([[0.5, 0.5], [0.6, 0.4], [0.1, 0.1]])
    draws = np.array([[0, 0, 1], [2, 2, 2]])
    differences = paired_differences(variant, baseline, draws)
    # resample 0 uses column 0: seeds 0, 0, 1 -> (0.4 + 0.4 + 0.1) / 3; resample 1: only seed 2, undefined
    assert differences[0] == pytest.approx(0.3)
    assert np.isnan(differences[1])
    assert paired_point(variant[:, 0], baseline[:, 0]) == pytest.approx((0.4 + 0.1) / 2)


def test_percentile_interval_by_hand():
    values = np.array([np.nan, *range(101)], dtype=float)  # 0..100: percentiles are the values themselves
    interval = percentile_interval(values, 0.9)
    assert interval["n_valid"] == 101
    assert (interval["low"], interval["high"]) == pytest.approx((5.0, 95.0))
    assert percentile_interval(np.array([np.nan]), 0.95) == {"low": None, "high": None, "n_valid": 0}


def test_a_constant_shift_gives_a_point_interval_and_draws_repeat():
    draws = Draws.draw(n_seeds=4, n_recordings=7, resamples=50, seed=3)
    assert draws.seeds.shape == (50, 4) and draws.recordings.shape == (50, 7)
    assert draws.seeds.max() < 4 and draws.recordings.max() < 7
    again = Draws.draw(4, 7, 50, 3)
    np.testing.assert_array_equal(draws.recordings, again.recordings)
    baseline = np.random.default_rng(0).random((4, 50))
    interval = percentile_interval(paired_differences(baseline + 0.125, baseline, draws.seeds), 0.95)
    assert interval["low"] == pytest.approx(0.125) and interval["high"] == pytest.approx(0.125)


def test_bootstrap_interval_covers_the_spread_of_seed_differences():
    # Differences per seed 0.1, 0.2, 0.3 on every recording: a resample's mean is 0.1 only when all three
    # drawn seeds are seed 0, with probability 1/27 = 3.7 % (> the 2.5 % tail), likewise 0.3; so the 95 %
    # interval is exactly [0.1, 0.3], and an 80 % one (10 % tails) lies strictly inside.
    baseline = np.zeros((3, 2000))
    variant = np.array([0.1, 0.2, 0.3])[:, None] + baseline
    draws = Draws.draw(3, 5, 2000, 0)
    differences = paired_differences(variant, baseline, draws.seeds)
    assert differences.min() == pytest.approx(0.1) and differences.max() == pytest.approx(0.3)
    interval = percentile_interval(differences, 0.95)
    assert (interval["low"], interval["high"]) == pytest.approx((0.1, 0.3))
    narrower = percentile_interval(differences, 0.8)
    assert 0.1 < narrower["low"] < 0.2 < narrower["high"] < 0.3


@pytest.mark.parametrize(
    "metric, low, high, expected",
    [
        ("event_f1", -0.05, 0.10, "no difference shown"),
        ("event_f1", 0.0, 0.10, "no difference shown"),  # touching zero is including it
        ("window_roc_auc", 0.02, 0.10, "higher"),
        ("window_roc_auc", -0.3, -0.1, "lower"),
        ("event_fp_per_24h", 2.0, 9.0, "worse"),  # more false alarms
        ("event_fp_per_24h", -9.0, -2.0, "better"),
    ],
)
def test_findings_text(metric, low, high, expected):
    text = finding(metric, "moon p=0.25", "none", {"difference": (low + high) / 2, "low": low, "high": high})
    assert expected in text and text.startswith("moon p=0.25 vs none")
    if expected == "no difference shown":
        assert "higher" not in text and "lower" not in text


def test_findings_text_when_undefined():
    text = finding("event_f1", "gal p=0.5", "none", {"difference": None, "low": None, "high": None})
    assert "undefined" in text


def test_fast_roc_auc_equals_scikit_learn_with_ties_and_is_undefined_for_one_class():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + 0.3 * labels, 1)  # rounding makes many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert roc_auc(np.array([0, 1, 1]), np.array([0.2, 0.2, 0.9])) == pytest.approx(0.75)  # (1/2 + 1) / 2
    assert np.isnan(roc_auc(np.zeros(4, int), np.arange(4.0)))
    # unlabelled windows (-1) count neither way: only the labelled pair (0.2 vs 0.9) is ranked
    assert roc_auc(np.array([-1, 0, 1, -1]), np.array([0.99, 0.2, 0.9, 0.0])) == 1.0


def test_a_tie_of_every_run_is_said_not_hidden_behind_no_difference():
    assert tie_finding("window_roc_auc", [1.0, 1.0, None, 1.0]) == (
        "window_roc_auc: all 3 finished runs score 1; this comparison cannot separate the variants on it "
        "(a harder task, or other rates, may)."
    )
    assert tie_finding("window_roc_auc", [1.0, 0.99, 1.0]) is None
    assert tie_finding("window_roc_auc", [1.0, None]) is None  # one defined value is no tie


def test_too_few_recordings_or_seeds_are_said():
    assert sample_size_finding(32, 3) is None
    assert sample_size_finding(2, 2).startswith("Only 2 test recordings (fewer than 10) and 2 seeds (fewer than 3):")
    assert sample_size_finding(9, 5).startswith("Only 9 test recordings (fewer than 10):")
    assert sample_size_finding(32, 1).startswith("Only 1 seed (fewer than 3):")  # names only what is short
