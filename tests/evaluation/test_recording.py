"""Recording aggregation and recording-level AUC against hand-computed values."""

import numpy as np
import pytest

from eegseq.evaluation.data import WindowPredictions
from eegseq.evaluation.recording import aggregate, recording_metrics, recording_scores

TIME_ORDERED = np.array([0.2, 0.9, 0.4, 0.7])


@pytest.mark.parametrize(
    ("method", "top_k", "expected"),
    [
        ("max", 3, 0.9),
        ("mean", 3, 2.2 / 4),
        ("top_k_mean", 2, (0.9 + 0.7) / 2),
        ("top_k_mean", 3, (0.9 + 0.7 + 0.4) / 3),
        ("top_k_mean", 10, 2.2 / 4),  # fewer windows than k: mean of all
        ("last", 3, 0.7),
    ],
)
def test_aggregate(method, top_k, expected):
    assert aggregate(TIME_ORDERED, method, top_k) == pytest.approx(expected)


def test_aggregate_rejects_unknown_method():
    with pytest.raises(ValueError, match="aggregation"):
        aggregate(TIME_ORDERED, "median")


def test_recording_scores_orders_windows_by_time():
    # Windows given out of time order: "last" must be the window starting at 30 s (p = 0.7).
    predictions = WindowPredictions(
        recording=["r1"] * 4 + ["r2"] * 2,
        patient=["a"] * 6,
        start_s=[30, 0, 20, 10, 0, 10],
        end_s=[40, 10, 30, 20, 10, 20],
        probability=[0.7, 0.2, 0.4, 0.9, 0.3, 0.1],
        label=[0, 0, 1, 0, 0, 0],
    )
    scores = recording_scores(predictions, "last")
    assert scores.recording.tolist() == ["r1", "r2"]
    assert scores.score.tolist() == pytest.approx([0.7, 0.1])
    assert scores.label.tolist() == [1, 0]


def _scores(patients, scores, labels):
    n = len(scores)
    predictions = WindowPredictions(
        recording=[f"r{i}" for i in range(n)],
        patient=patients,
        start_s=np.zeros(n),
        end_s=np.ones(n),
        probability=scores,
        label=labels,
    )
    return recording_scores(predictions, "max")


def test_recording_auc_pooled_and_per_patient():
    scores = _scores(
        ["A", "A", "A", "B", "B", "C"],
        [0.9, 0.3, 0.5, 0.4, 0.6, 0.2],
        [1, 0, 0, 1, 0, 0],
    )
    m = recording_metrics(scores)
    # Pooled: positives 0.9, 0.4; negatives 0.3, 0.5, 0.6, 0.2. 0.9 beats 4, 0.4 beats 0.3 and 0.2 -> 6/8.
    assert m["roc_auc"] == pytest.approx(6 / 8)
    # A: 0.9 above both negatives -> 1. B: 0.4 below 0.6 -> 0. C: no positive recording.
    assert m["per_patient"]["A"]["roc_auc"] == pytest.approx(1.0)
    assert m["per_patient"]["B"]["roc_auc"] == pytest.approx(0.0)
    assert m["per_patient"]["C"]["roc_auc"] is None
    assert m["per_patient"]["C"]["undefined"]["roc_auc"] == "no positive recordings"
    assert (m["n_recordings"], m["n_positive"]) == (6, 2)


def test_recording_auc_without_positive_recording_is_null():
    m = recording_metrics(_scores(["A", "A"], [0.3, 0.8], [0, 0]))
    assert m["roc_auc"] is None and m["undefined"]["roc_auc"] == "no positive recordings"
