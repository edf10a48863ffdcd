"""Input types and config: bad input is refused with a message naming the field."""

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from eegseq.evaluation import EvaluationConfig, EvaluationSet, WindowPredictions


def _predictions(**overrides):
    fields = dict(
        recording=["r1", "r1", "r2"],
        patient=["p", "p", "q"],
        start_s=[0.0, 4.0, 0.0],
        end_s=[4.0, 8.0, 4.0],
        probability=[0.1, 0.9, 0.5],
        label=[0, 1, 0],
    )
    fields.update(overrides)
    return WindowPredictions(**fields)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"probability": [0.1, 0.9]}, "probability must be 1-D with the same length"),
        ({"probability": [0.1, 1.2, 0.5]}, r"probability must lie in \[0, 1\]"),
        ({"probability": [0.1, np.nan, 0.5]}, "probability must be finite"),
        ({"end_s": [4.0, 4.0, 4.0]}, "end_s must be greater than start_s"),
        ({"label": [0, 2, 0]}, "label must contain only 1, 0 and -1"),
    ],
)
def test_window_predictions_validation(overrides, message):
    with pytest.raises(ValueError, match=message):
        _predictions(**overrides)


def test_evaluation_set_validation():
    durations = {"r1": 8.0, "r2": 4.0}
    with pytest.raises(ValueError, match="lacks recordings: \\['r2'\\]"):
        EvaluationSet(_predictions(), {"r1": 8.0})
    with pytest.raises(ValueError, match="without windows"):
        EvaluationSet(_predictions(), durations, {"r9": [[0.0, 1.0]]})
    with pytest.raises(ValueError, match="end after its duration"):
        EvaluationSet(_predictions(), {"r1": 6.0, "r2": 4.0})
    with pytest.raises(ValueError, match="onset_s >= 0, duration_s > 0"):
        EvaluationSet(_predictions(), durations, {"r1": [[1.0, 0.0]]})
    with pytest.raises(ValueError, match="more than one patient"):
        EvaluationSet(_predictions(patient=["p", "x", "q"]), durations)
    with pytest.raises(ValueError, match="becomes a file name"):
        EvaluationSet(_predictions(recording=["../r1", "../r1", "r2"]), {"../r1": 8.0, "r2": 4.0})


def test_evaluation_set_sorts_events_and_defaults_to_none():
    data = EvaluationSet(_predictions(), {"r1": 8.0, "r2": 4.0}, {"r1": [[5.0, 1.0], [1.0, 2.0]]})
    assert data.reference_events["r1"].tolist() == [[1.0, 2.0], [5.0, 1.0]]
    assert data.reference_events["r2"].shape == (0, 2)
    assert data.recordings == ["r1", "r2"]


def test_config_from_yaml_and_refuses_unknown_keys():
    config = EvaluationConfig.model_validate(yaml.safe_load("aggregation: top_k_mean\ntop_k: 5\nsmoothing_s: 10\n"))
    assert (config.aggregation, config.top_k, config.smoothing_s) == ("top_k_mean", 5, 10.0)
    assert (config.tolerance_start_s, config.tolerance_end_s, config.min_duration_between_events_s) == (30, 60, 90)
    with pytest.raises(ValidationError, match="smoothing"):
        EvaluationConfig.model_validate({"smoothing": 10})
    with pytest.raises(ValidationError, match="aggregation"):
        EvaluationConfig(aggregation="median")
    with pytest.raises(ValidationError, match="target_sensitivity"):
        EvaluationConfig(target_sensitivity=0.0)
