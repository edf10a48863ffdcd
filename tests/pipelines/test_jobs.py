"""The train and evaluate jobs through the command line: outputs, errors, exact streaming."""

import json

import numpy as np
import tf_keras as keras
import yaml
from smoke_cli import SMOKE, run_cli

from eegseq.data.normalisation import ChannelStats
from eegseq.data.store import StoreReader
from eegseq.models import StreamModel, predict_recording


def test_run_directory_holds_what_a_run_needs(uninterrupted_run):
    for name in ("config.yaml", "environment.json", "model.keras", "metrics.json", "history.csv"):
        assert (uninterrupted_run / name).exists(), name
    assert any((uninterrupted_run / "tensorboard").iterdir())
    config = yaml.safe_load((uninterrupted_run / "config.yaml").read_text())
    assert config["model"]["rnn"]["dropout"]["preset"] == "gal"  # resolved, with the smoke values
    environment = json.loads((uninterrupted_run / "environment.json").read_text())
    assert environment["seed"] == 0 and environment["versions"]["tensorflow"].startswith("2.21")
    metrics = json.loads((uninterrupted_run / "metrics.json").read_text())
    assert metrics["training"]["epochs_completed"] == 2
    assert set(metrics["evaluation"]["test"]["headline"]) >= {"window_roc_auc", "event_f1"}
    test_dir = uninterrupted_run / "evaluation" / "test"
    for name in ("metrics.json", "report.md", "predictions.csv", "roc.png", "traces.png"):
        assert (test_dir / name).exists(), name


def test_trained_model_predicts_the_same_whole_and_in_windows(uninterrupted_run, smoke_data):
    model = StreamModel(keras.models.load_model(uninterrupted_run / "model.keras"))
    stats = ChannelStats.load(smoke_data / "store" / "stats.json")
    store = sorted((smoke_data / "store").glob("*.h5"))[0]
    with StoreReader(store) as reader:
        signal = stats.apply(reader.read(0, reader.n_samples))
    whole = predict_recording(model, signal, len(signal))
    for window in (800, 1600, 4000):
        windowed = predict_recording(model, signal, window)
        np.testing.assert_allclose(windowed[-1], whole[-1], atol=1e-5)


def test_evaluate_command_on_another_split(uninterrupted_run):
    # --set without --config changes the run's own config (its data, its model), not the defaults.
    override = "evaluation.smoothing_s=0"
    result = run_cli("evaluate", "--run-dir", str(uninterrupted_run), "--split", "val", "--set", override)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((uninterrupted_run / "metrics.json").read_text())
    assert metrics["evaluation"]["val"]["metrics"] == "evaluation/val/metrics.json"
    evaluated = json.loads((uninterrupted_run / "evaluation" / "val" / "metrics.json").read_text())
    assert evaluated["split"] == "val" and evaluated["config"]["smoothing_s"] == 0
    seed = yaml.safe_load((uninterrupted_run / "config.yaml").read_text())["data"]["synthetic"]["seed"]
    assert evaluated["per_recording"] and all(
        r["recording"].startswith(f"synth{seed}-") for r in evaluated["per_recording"]
    )


def test_evaluate_errors_are_clear(uninterrupted_run, tmp_path):
    missing = run_cli("evaluate", "--run-dir", str(tmp_path))
    assert missing.returncode == 2 and f"{tmp_path / 'model.keras'} does not exist" in missing.stderr
    bogus = run_cli("evaluate", "--run-dir", str(uninterrupted_run), "--split", "bogus")
    assert bogus.returncode == 2 and "split 'bogus' does not exist" in bogus.stderr and "'test'" in bogus.stderr


def test_bad_config_exits_2_naming_the_field(tmp_path):
    result = run_cli("train", "--config", str(SMOKE), "--run-dir", str(tmp_path), "--set", "train.epochs=0")
    assert result.returncode == 2
    assert "train.epochs" in result.stderr
