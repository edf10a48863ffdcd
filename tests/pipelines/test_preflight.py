"""Checks before the first training step (RunPlan.validate): a missing split, a training split
without seizures, a validation split without seizures under a data-driven threshold. Each was
found only after training; each is now refused at once, naming the fix a user types."""

import numpy as np
import pytest
from smoke_cli import SMOKE
from test_plan import _config, _data

from eegseq.data.manifest import events_path_for, load_manifest, read_events
from eegseq.pipelines import plan as plan_module
from eegseq.pipelines.cli import main
from eegseq.pipelines.config import load_config
from eegseq.pipelines.ingest import run_ingest
from eegseq.pipelines.plan import PlanError, RunPlan


def _smoke_plan(smoke_data, *overrides):
    config = load_config(SMOKE, [f"data.root={smoke_data}", *overrides])
    return RunPlan.build(config, run_ingest(config.data, progress=False))


def _counts_by_hand(data, split, window):
    """Windows of ``split`` overlapping a seizure event (any overlap), from the events table."""
    events = read_events(events_path_for(data.manifest))
    background = seizure = 0
    for row in load_manifest(data.manifest, data.store_dir):
        if row.split != split:
            continue
        spans = [(e.onset * row.sfreq, (e.onset + e.duration) * row.sfreq) for e in events.get(row.id, [])]
        spans = [span for span, e in zip(spans, events.get(row.id, [])) if e.label.startswith("sz")]
        for start in range(0, row.n_samples, window):
            stop = min(start + window, row.n_samples)
            hit = any(onset < stop and offset > start for onset, offset in spans)
            seizure, background = seizure + hit, background + (not hit)
    return background, seizure


def test_label_counts_match_the_events_by_hand(smoke_data):
    plan = _smoke_plan(smoke_data)
    for split in ("train", "val", "test"):
        assert plan.label_counts(split) == _counts_by_hand(plan.data, split, plan.stream.window), split
    assert all(plan.label_counts("train"))
    plan.validate()  # the smoke run is sound


def test_a_missing_split_is_refused_with_the_fix():
    plan = RunPlan.build(_config("stream.window_seconds=2.5"), _data(splits=("train", "val")))
    with pytest.raises(PlanError) as error:
        plan.validate()
    message = str(error.value)
    assert "split 'test' does not exist" in message and "it has ['train', 'val']" in message
    assert "data.split.fractions" in message


def test_a_training_split_without_seizures_is_refused(smoke_data):
    plan = _smoke_plan(smoke_data, "stream.labels.event_types=[no_such_event]")
    with pytest.raises(PlanError) as error:
        plan.validate()
    message = str(error.value)
    assert "the 'train' split holds no seizure windows (label 1)" in message
    assert "nothing to learn" in message and "event_types=['no_such_event']" in message
    assert "data.split.seed" in message


@pytest.mark.parametrize("method", ["youden", "target_sensitivity"])
def test_a_validation_split_without_seizures_is_refused_under_a_chosen_threshold(smoke_data, monkeypatch, method):
    plan = _smoke_plan(smoke_data, f"evaluation.threshold_method={method}")
    counts = {"train": (30, 6), "val": (14, 0), "test": (12, 3)}
    monkeypatch.setattr(plan_module.RunPlan, "label_counts", lambda self, split: counts[split])
    with pytest.raises(PlanError) as error:
        plan.validate()
    message = str(error.value)
    assert "the 'val' split holds no seizure windows (label 1) among its 14 labelled windows" in message
    assert f"evaluation.threshold_method='{method}' cannot choose a threshold" in message
    assert "--set evaluation.threshold_method=fixed" in message
    plan.validate(("test",), trains=False)  # evaluating test at a fixed threshold reads no val
    fixed = _smoke_plan(smoke_data, "evaluation.threshold_method=fixed")
    fixed.validate()  # a fixed threshold needs no seizure in val


def test_train_refuses_before_the_first_step_and_writes_no_run(smoke_data, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "--config",
            str(SMOKE),
            "--run-dir",
            str(run_dir),
            "--set",
            f"data.root={smoke_data}",
            "--set",
            "stream.labels.event_types=[no_such_event]",
        ]
    )
    error = capsys.readouterr().err
    assert code == 2 and "the 'train' split holds no seizure windows" in error and "Traceback" not in error
    assert sorted(p.name for p in run_dir.iterdir()) == [".worker-0.lock"]  # no record, no checkpoint


def test_balanced_class_weights_by_hand():
    from eegseq.pipelines.train_step import class_weights

    train = load_config(None).train
    # 30 background and 6 seizure windows: each class gets half of 36 -> 36 / 60 and 36 / 12
    np.testing.assert_allclose(class_weights(train, (30, 6)), (0.6, 3.0))
