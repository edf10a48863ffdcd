"""A diverging run leaves a machine-readable record of why and when it stopped."""

import json

import pytest
from smoke_cli import SMOKE

from eegseq.pipelines import train
from eegseq.pipelines.config import load_config


def test_divergence_is_recorded_in_metrics_json(smoke_data, tmp_path, monkeypatch):
    def diverges_at_step_three(loss, recent, weights, factor):
        return "training diverged: test" if len(recent) == 2 else None

    monkeypatch.setattr(train, "loss_problem", diverges_at_step_three)
    config = load_config(SMOKE, [f"data.root={smoke_data}", "train.checkpoint_every=1"])
    with pytest.raises(train.TrainingStopped) as stopped:
        train.train_job(config, tmp_path / "run")
    assert (stopped.value.reason, stopped.value.step) == ("diverged", 3)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())["training"]["stopped"]
    assert (record["reason"], record["step"]) == ("diverged", 3)
    assert "at step 3" in record["message"]


def test_a_finished_run_records_no_stop(uninterrupted_run):
    assert json.loads((uninterrupted_run / "metrics.json").read_text())["training"]["stopped"] is None
