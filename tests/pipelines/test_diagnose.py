"""``diagnose_run`` on a trained smoke run: the files and the schema that ``compare`` reads."""

import json

import numpy as np
import pytest
from smoke_cli import SMOKE, run_cli

from eegseq.data.streamer import LaneStreamer
from eegseq.models import StreamModel
from eegseq.pipelines.config import load_config
from eegseq.pipelines.diagnose import SCHEMA, diagnose_run, memory_retention, play, state_scale
from eegseq.pipelines.ingest import run_ingest
from eegseq.pipelines.plan import RunPlan


@pytest.fixture(scope="module")
def diagnosed(uninterrupted_run):
    return diagnose_run(uninterrupted_run)


def test_diagnostics_files_and_schema(diagnosed, uninterrupted_run):
    report = json.loads((diagnosed / "diagnostics.json").read_text())
    assert report["schema"] == SCHEMA
    assert report["stability"] == {"stopped": False, "reason": None, "step": None, "steps_completed": 20}
    assert report["run"]["implementation"] == "eegseq" and report["run"]["window_steps"] == 20
    assert len(report["run"]["recordings"]) == 2
    for layer in ("rnn_0", "rnn_1"):
        entry = report["state_scale"]["layers"][layer]
        assert len(entry["time_s"]) == len(entry["h_inference"]) == len(entry["c_training"]) == 5
    for layer in ("rnn_0", "rnn_1"):
        flow = report["gradient_flow"]["layers"][layer]
        assert flow["lag_steps"] == list(range(20)) and len(flow["dL_dh"]) == len(flow["dL_dc"]) == 20
        assert flow["dL_dc"][0] == 0.0 and flow["dL_dc"][1] > 0  # the last state feeds no later step
    assert report["memory_retention"] is None and report["mask_changes"] is None  # not a memory task, not stock
    for name in ("state_scale.csv", "state_scale.png", "gradient_flow.csv", "gradient_flow.png"):
        assert (diagnosed / name).stat().st_size > 0


def test_memory_retention_by_hand():
    windows = [
        ("a", 0, 0.9, -1),  # not scored
        ("a", 300, 0.8, 1),  # cue in window 0, scored window 3: separation 3, right
        ("b", 300, 0.4, 1),  # cue in window 1: separation 2, wrong
        ("c", 300, 0.3, 0),  # cue in window 1: separation 2, right
        ("d", 300, 0.3, 0),  # no cue: left out
    ]
    result = memory_retention(windows, {"a": 0, "b": 1, "c": 1}, window=100)
    assert result == {
        "separation_windows": [2, 3],
        "accuracy": [0.5, 1.0],
        "roc_auc": [1.0, None],  # separation 2: the positive (0.4) ranks above the negative (0.3); 3: one class
        "recordings": [1 + 1, 1],
        "threshold": 0.5,
    }
    # at the run's own threshold 0.35 both windows at separation 2 are right; the ROC-AUC does not move
    shifted = memory_retention(windows, {"a": 0, "b": 1, "c": 1}, window=100, threshold=0.35)
    assert shifted["accuracy"] == [1.0, 1.0] and shifted["roc_auc"] == [1.0, None]
    assert memory_retention(windows, {}, window=100) is None


def test_stock_variant_on_the_delayed_recall_task(tmp_path):
    """The stock baseline trained by the ordinary job on the memory task: every diagnostic applies."""
    run_dir = tmp_path / "run"
    overrides = [
        f"data.root={tmp_path / 'data'}",
        "data.synthetic.variant=delayed_recall",
        "data.synthetic.score_seconds=4",
        "stream.labels={source: recording, scored_event: score}",
        "model.rnn.implementation=tf_keras_builtin",
        "train.epochs=1",
        "evaluation.threshold_method=fixed",  # 2 validation recordings may share one label
    ]
    result = run_cli("train", "--config", str(SMOKE), "--run-dir", str(run_dir), *(f"--set={o}" for o in overrides))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((diagnose_run(run_dir, max_recordings=1) / "diagnostics.json").read_text())
    assert report["run"]["implementation"] == "tf_keras_builtin" and len(report["run"]["recordings"]) == 1
    assert report["mask_changes"]["compiled"]["changes"] == "timestep"
    assert report["mask_changes"]["eager"]["changes"] == "window"
    retention = report["memory_retention"]
    # Retention comes from the evaluation: both test recordings, though only one was played.
    assert sum(retention["recordings"]) == 2 and all(1 <= s <= 4 for s in retention["separation_windows"])
    assert len(report["gradient_flow"]["layers"]["rnn_1"]["dL_dh"]) == 20


def test_state_scale_without_dropout_is_the_same_in_both_modes(smoke_data):
    """No masks at all (no dropout between layers either): training mode is inference mode, ratio 1."""
    config = load_config(
        SMOKE, [f"data.root={smoke_data}", "model.rnn.dropout.preset=none", "model.rnn.between_dropout=0"]
    )
    plan = RunPlan.build(config, run_ingest(config.data, progress=False))
    model = StreamModel.build(config.model)
    stores = plan.stores("test")
    streamer = LaneStreamer(stores, plan.stream.model_copy(update={"lanes": len(stores)}), plan.stats)
    layers = state_scale(model, play(model, streamer, plan.mask_keys), plan.window_seconds)["layers"]
    for entry in layers.values():
        np.testing.assert_allclose(entry["h_training"], entry["h_inference"], rtol=1e-6)
        assert entry["h_ratio"] == pytest.approx(1.0, abs=1e-6)
