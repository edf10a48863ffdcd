"""Per-split counts and the warning for a split with too few seizures."""

import logging

import numpy as np
import pytest

from eegseq.evaluation import EvaluationConfig, evaluate
from eegseq.evaluation.outputs import write_outputs
from eegseq.evaluation.splits import small_split_warnings, split_summary


def test_split_summary_by_hand():
    summary = split_summary(
        {"a": "p1", "b": "p1", "c": "p2"},
        {"a": 1800.0, "b": 3600.0, "c": 5400.0, "elsewhere": 99.0},
        {"a": np.array([[10.0, 30.0], [900.0, 20.0]]), "c": np.zeros((0, 2))},
        np.array([0, 1, 1, -1, 0, 0, 1]),
    )
    assert summary == {
        "subjects": 2,
        "recordings": 3,
        "hours": pytest.approx(3.0),
        "seizures": 2,
        "subjects_with_seizures": 1,
        "windows": 7,
        "positive_windows": 3,
        "unlabelled_windows": 1,
    }


def test_evaluation_counts_each_split_and_warns_under_five_seizures(make_split, tmp_path, caplog):
    # make_split puts a 60-s seizure in every other 20-min recording of three patients.
    four, five = make_split(seed=1, n_recordings=8), make_split(seed=2, n_recordings=10)
    train = split_summary({"t1": "p9"}, {"t1": 3600.0}, {"t1": np.array([[5.0, 50.0]])}, np.array([0, 1]))
    config = EvaluationConfig(threshold_method="youden", bootstrap_resamples=0)
    with caplog.at_level(logging.WARNING):
        result = evaluate(four, config, validation=five, split="test", other_splits={"train": train})
    splits = result.metrics["splits"]
    assert list(splits) == ["train", "val", "test"] and splits["train"] == train
    assert (splits["test"]["recordings"], splits["test"]["seizures"], splits["test"]["subjects"]) == (8, 4, 3)
    assert splits["test"]["hours"] == pytest.approx(8 * 1200 / 3600)
    assert splits["test"]["positive_windows"] == int(np.sum(four.predictions.label == 1))
    assert splits["val"]["seizures"] == 5
    # Test has 4 seizures: warned in metrics, log and report; validation has 5: not warned.
    assert len(result.metrics["warnings"]) == 1 and "split 'test' holds 4 seizures" in result.metrics["warnings"][0]
    assert "split 'test' holds 4 seizures" in caplog.text
    report = write_outputs(tmp_path, four, result)["report.md"].read_text()
    assert "## Warnings" in report and "split 'test' holds 4 seizures" in report
    assert "| test | 3 | 8 | 2.667 | 4 |" in report
    # Swapped, the validation split that chose the threshold is the small one.
    swapped = evaluate(five, config, validation=four, split="test").metrics["warnings"]
    assert len(swapped) == 1 and "split 'val' holds 4 seizures" in swapped[0]


def test_no_seizure_warning_for_a_task_without_reference_events():
    """Windows labelled from recordings (a memory task): no split holds a seizure, and none is expected;
    one split with a seizure makes the others' zero count worth a warning again."""
    empty = {"subjects": 2, "recordings": 4, "hours": 1.0, "seizures": 0}
    assert small_split_warnings({"train": empty, "val": empty, "test": empty}, ["test", "val"]) == []
    warned = small_split_warnings({"train": {**empty, "seizures": 7}, "val": empty, "test": empty}, ["test"])
    assert warned == [
        "split 'test' holds 0 seizures (fewer than 5): one seizure found or missed moves its event metrics "
        "by 20 % or more; do not read much into them"
    ]
