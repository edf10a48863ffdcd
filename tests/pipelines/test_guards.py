"""The loss guard and the validation metrics, on hand-made numbers."""

import math

import numpy as np
import pytest

from eegseq.evaluation import WindowPredictions
from eegseq.pipelines.train import loss_problem
from eegseq.pipelines.validation import validation_metrics


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_loss_stops_at_once(bad):
    assert "loss became" in loss_problem(bad, [], (1.0, 1.0), 100.0)


def test_spikes_from_rare_heavy_windows_do_not_stop_but_sustained_growth_does():
    background = [0.01] * 200
    weights = (0.5, 12.0)  # reference floor: ln 2 x 12 = 8.3
    assert loss_problem(13.0, background, weights, 100.0) is None  # one seizure window
    assert loss_problem(500.0, background, weights, 100.0) is None  # mean of 20 = 25 < 832
    exploding = background + [900.0] * 19
    assert "diverged" in loss_problem(900.0, exploding, weights, 100.0)
    assert loss_problem(900.0, background[:10], weights, 100.0) is None  # too early to judge


def test_validation_metrics_by_hand():
    predictions = WindowPredictions(
        recording=np.array(["a", "a", "b", "b"]),
        patient=np.array(["p", "p", "p", "p"]),
        start_s=np.zeros(4),
        end_s=np.ones(4),
        probability=np.array([0.9, 0.2, 0.6, 0.4]),
        label=np.array([1, 0, 0, 1]),
    )
    metrics = validation_metrics(predictions)
    # pairs (pos, neg): (0.9, 0.2) (0.9, 0.6) (0.4, 0.2) win, (0.4, 0.6) loses -> 3/4
    assert metrics["val_auc"] == pytest.approx(0.75)
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4
    assert metrics["val_loss"] == pytest.approx(expected)
    assert metrics["val_windows"] == 4
    one_class = validation_metrics(predictions.take(np.array([0, 3])))
    assert one_class["val_auc"] is None and one_class["val_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.4)) / 2)
    # a confident mistake costs -ln(1e-7), not infinity
    certain = validation_metrics(
        WindowPredictions(np.array(["a"]), np.array(["p"]), np.zeros(1), np.ones(1), np.ones(1), np.zeros(1))
    )
    assert certain["val_loss"] == pytest.approx(-math.log(1e-7), rel=1e-6)
