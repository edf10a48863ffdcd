"""The run directory's faults, through the command line in this process (refusals come before any
training): a refused or changed-config train rewrites nothing, one job per run directory, a
read-only run directory, missing or bad model files, a full disk during a checkpoint."""

import errno
import json
import os
import zipfile

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from smoke_cli import SMOKE

from eegseq.files import is_temporary
from eegseq.pipelines import checkpoint as checkpoint_module
from eegseq.pipelines.checkpoint import Checkpointer, CheckpointWriteError
from eegseq.pipelines.cli import main
from eegseq.pipelines.config import load_config
from eegseq.pipelines.run_dir import RunDirError, config_changes, locked


def _train(run_dir, data_root, *extra):
    return main(["train", "--config", str(SMOKE), "--run-dir", str(run_dir), "--set", f"data.root={data_root}", *extra])


def _record(run_dir):
    return {name: (run_dir / name).read_bytes() for name in ("config.yaml", "environment.json", "metrics.json")}


def test_a_refused_train_rewrites_nothing(uninterrupted_run, smoke_data, capsys):
    before = _record(uninterrupted_run)
    assert _train(uninterrupted_run, smoke_data, "--set", "train.learning_rate=0.01") == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err
    assert _record(uninterrupted_run) == before


def test_a_resume_with_another_config_names_the_fields_and_rewrites_nothing(uninterrupted_run, smoke_data, capsys):
    before = _record(uninterrupted_run)
    code = _train(
        uninterrupted_run, smoke_data, "--resume", "--set", "train.learning_rate=0.01", "--set", "stream.lanes=4"
    )
    error = capsys.readouterr().err
    assert code == 2
    assert "train.learning_rate: 0.003 -> 0.01" in error and "stream.lanes: 2 -> 4" in error
    assert "Traceback" not in error and "stream position" not in error
    assert _record(uninterrupted_run) == before


def test_config_changes_lists_every_changed_field_but_not_the_harmless_ones():
    saved = load_config(SMOKE)
    new = load_config(
        SMOKE,
        [
            "model.rnn.units=16",
            "data.synthetic.seed=4",
            "train.progress=true",
            "data.workers=3",
            "compare.seeds=[5, 6]",
        ],
    )
    assert config_changes(saved, new) == ["data.synthetic.seed: 3 -> 4", "model.rnn.units: 8 -> 16"]
    assert config_changes(saved, saved) == []


def test_a_second_job_on_a_run_dir_in_use_is_refused(tmp_path, smoke_data, capsys):
    run_dir = tmp_path / "run"
    with locked(run_dir):
        assert _train(run_dir, smoke_data) == 2
        assert f"{run_dir} is in use by another eegseq job (process {os.getpid()}" in capsys.readouterr().err
        with pytest.raises(RunDirError, match="in use"), locked(run_dir):
            pass
    assert not (run_dir / "config.yaml").exists()
    with locked(run_dir):  # released with its holder
        pass


def test_workers_of_one_run_lock_their_own_share(tmp_path):
    with locked(tmp_path, worker=0), locked(tmp_path, worker=1):
        pass


def test_a_read_only_run_dir_is_refused_clearly(read_only_dir, smoke_data, capsys):
    assert _train(read_only_dir / "run", smoke_data) == 2
    error = capsys.readouterr().err
    assert f"{read_only_dir / 'run'}: cannot write to the run directory" in error and "Traceback" not in error
    assert _train(read_only_dir, smoke_data) == 2
    assert f"{read_only_dir}: cannot write to the run directory" in capsys.readouterr().err


def _small_model():
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def _lambda_model():
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))


def _write_model(path, kind):
    if kind == "truncated":
        _small_model().save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "Lambda layer":
        _lambda_model().save(path)
        assert zipfile.is_zipfile(path)


@pytest.mark.parametrize(
    "kind, words",
    [
        ("missing", ["does not exist", "train first"]),
        ("truncated", ["is not a Keras model file", "truncated"]),
        ("random bytes", ["is not a Keras model file"]),
        ("Lambda layer", ["refused by Keras safe mode", "Lambda"]),
    ],
)
def test_evaluate_with_a_missing_or_bad_model_names_the_file(tmp_path, kind, words, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _write_model(run_dir / "model.keras", kind)
    assert main(["evaluate", "--run-dir", str(run_dir)]) == 2
    error = capsys.readouterr().err
    assert f"{run_dir / 'model.keras'}" in error and "Traceback" not in error
    for word in words:
        assert word in error
    assert not (run_dir / "evaluation").exists()


def test_evaluate_on_a_missing_run_dir_creates_nothing(tmp_path, capsys):
    assert main(["evaluate", "--run-dir", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def _checkpointer(directory, units=8):
    inputs = keras.Input((units,))
    model = keras.Model(inputs, keras.layers.Dense(units)(inputs))
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    return Checkpointer(directory, model, optimizer, keep=2), model


def _lanes(step):
    return {"h": np.full((2, 3), step, np.float32)}


def _assert_last_good_checkpoint(directory, step, weights):
    reader, model = _checkpointer(directory, units=weights[0].shape[0])
    latest = reader.latest()
    assert latest.name == f"ckpt-{step:09d}"
    lanes, meta = reader.restore(latest)
    assert meta["global_step"] == step and np.array_equal(lanes["h"], _lanes(step)["h"])
    for restored, saved in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(restored, saved)
    assert not [p for p in directory.iterdir() if is_temporary(p)]


def test_a_full_disk_during_a_checkpoint_keeps_the_last_good_one(tmp_path, monkeypatch):
    """Simulated ENOSPC in the middle of the second checkpoint (after the weights were written)."""
    checkpointer, model = _checkpointer(tmp_path)
    checkpointer.save(2, _lanes(2), {"global_step": 2})
    weights = model.get_weights()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_module.np, "savez", disk_full)
    model.layers[1].kernel.assign_add(tf.ones_like(model.layers[1].kernel))
    with pytest.raises(CheckpointWriteError) as error:
        checkpointer.save(4, _lanes(4), {"global_step": 4})
    message = str(error.value)
    assert "No space left on device" in message and "ckpt-000000002 is kept" in message and "--resume" in message
    _assert_last_good_checkpoint(tmp_path, 2, weights)


def test_a_real_full_disk_during_a_checkpoint_keeps_the_last_good_one(tmp_path, small_disk):
    """A tmpfs with room for one and a half checkpoints: the second fails inside TensorFlow's writer."""
    probe, _ = _checkpointer(tmp_path / "probe", units=256)
    size = sum(p.stat().st_size for p in probe.save(2, _lanes(2), {"global_step": 2}).iterdir())
    disk = small_disk(int(1.5 * size / 1024) + 16)
    checkpointer, model = _checkpointer(disk, units=256)
    checkpointer.save(2, _lanes(2), {"global_step": 2})
    weights = model.get_weights()
    with pytest.raises(CheckpointWriteError, match="No space left on device"):
        checkpointer.save(4, _lanes(4), {"global_step": 4})
    _assert_last_good_checkpoint(disk, 2, weights)


def test_history_keeps_its_column_order_through_a_checkpoint(tmp_path):
    """A resumed run's history.csv had its columns sorted (the checkpoint's JSON sorted keys)."""
    checkpointer, _ = _checkpointer(tmp_path)
    record = {"epoch": 0, "step": 10, "train_loss": 0.5, "val_loss": 0.6, "val_auc": 0.7, "val_windows": 12}
    checkpointer.save(10, _lanes(10), {"global_step": 10, "history": [record]})
    _, meta = checkpointer.restore(checkpointer.latest())
    assert list(meta["history"][0]) == list(record)
    assert json.loads((checkpointer.latest() / "meta.json").read_text())["history"] == [record]
