"""Bootstrap intervals: determinism, coverage of the point estimate, agreement with SciPy."""

import numpy as np
import pytest
from scipy.stats import bootstrap

from eegseq.evaluation import EvaluationConfig, evaluate
from eegseq.evaluation.bootstrap import bootstrap_intervals


def test_mean_interval_agrees_with_scipy_percentile_bootstrap():
    values = np.random.default_rng(3).normal(size=40)
    ours = bootstrap_intervals(40, lambda idx: {"mean": float(values[idx].mean())}, 4000, seed=7)["mean"]
    reference = bootstrap(
        (values,), np.mean, n_resamples=4000, method="percentile", confidence_level=0.95, rng=np.random.default_rng(11)
    ).confidence_interval
    # Monte-Carlo error of a 2.5% quantile with 4000 resamples is ~0.01 here (interval width ~0.6).
    assert ours["low"] == pytest.approx(reference.low, abs=0.04)
    assert ours["high"] == pytest.approx(reference.high, abs=0.04)
    assert ours["n_valid"] == 4000


def test_undefined_resamples_are_left_out():
    # Undefined whenever unit 0 is drawn (probability 1 - (4/5)^5 ~ 0.67 per resample).
    intervals = bootstrap_intervals(5, lambda idx: {"x": None if 0 in idx else 1.0}, 200, seed=0)
    assert 0 < intervals["x"]["n_valid"] < 200
    assert intervals["x"]["low"] == intervals["x"]["high"] == 1.0
    never = bootstrap_intervals(3, lambda idx: {"x": None}, 10, seed=0)
    assert never["x"] == {"low": None, "high": None, "n_valid": 0}


@pytest.mark.parametrize("unit", ["recording", "patient"])
def test_headline_intervals_contain_estimate_and_repeat_for_a_seed(test_set, validation_set, unit):
    config = EvaluationConfig(bootstrap_unit=unit, bootstrap_resamples=60, bootstrap_seed=5)
    first = evaluate(test_set, config, validation=validation_set).metrics
    second = evaluate(test_set, config, validation=validation_set).metrics
    assert first["headline"] == second["headline"]
    for name, item in first["headline"].items():
        assert item["n_valid"] > 0, name
        assert item["low"] <= item["value"] <= item["high"], name
    other = evaluate(test_set, config.model_copy(update={"bootstrap_seed": 6}), validation=validation_set).metrics
    assert [h["value"] for h in other["headline"].values()] == [h["value"] for h in first["headline"].values()]
    assert [h["low"] for h in other["headline"].values()] != [h["low"] for h in first["headline"].values()]
