"""A run killed at any moment (SIGKILL) or stopped (SIGTERM) and resumed ends bit for bit where
an uninterrupted run ends (CPU, deterministic ops)."""

import json
import random
import signal
import subprocess
import time

import numpy as np
import tf_keras as keras
from smoke_cli import REPO, cli, cli_env, run_cli, train_args

from eegseq.models import StreamModel  # noqa: F401  (registers eegseq's layers for load_model)


def _weights(run_dir):
    return keras.models.load_model(run_dir / "model.keras").get_weights()


def _start_and_wait_for_checkpoint(args, run_dir, timeout=300):
    process = subprocess.Popen(cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(), cwd=REPO)
    latest = run_dir / "checkpoints" / "worker-0" / "latest"
    deadline = time.monotonic() + timeout
    while not latest.exists():
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    return process


def _assert_same_end(run_dir, reference):
    for mine, theirs in zip(_weights(run_dir), _weights(reference)):
        assert np.array_equal(mine, theirs)
    history = json.loads((run_dir / "metrics.json").read_text())["training"]["history"]
    assert history == json.loads((reference / "metrics.json").read_text())["training"]["history"]


def test_sigkill_at_a_random_moment_then_resume_is_bit_exact(smoke_data, uninterrupted_run, tmp_path):
    """The moment is drawn inside training (the smoke run checkpoints every 2 of its 20 steps):
    after a random checkpoint, plus a random fraction of a step, so the kill can land mid-step or
    mid-checkpoint-write."""
    seed = random.randrange(1 << 30)
    draw = random.Random(seed)
    after_step, delay = draw.choice(range(2, 17, 2)), draw.uniform(0.0, 0.15)
    run_dir = tmp_path / "run"
    args = train_args(run_dir, smoke_data, "--resume")
    process = _start_and_wait_for_checkpoint(args, run_dir)
    latest = run_dir / "checkpoints" / "worker-0" / "latest"
    while process.poll() is None and int(latest.read_text().strip().split("-")[1]) < after_step:
        time.sleep(0.005)
    time.sleep(delay)
    process.kill()  # SIGKILL: no handler runs
    process.wait(timeout=60)
    assert not (run_dir / "model.keras").exists(), f"the kill came after training ended (seed {seed})"
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    _assert_same_end(run_dir, uninterrupted_run)


def test_sigterm_writes_a_checkpoint_and_exits_resumable(smoke_data, uninterrupted_run, tmp_path):
    run_dir = tmp_path / "run"
    args = train_args(run_dir, smoke_data, "--resume")
    process = _start_and_wait_for_checkpoint(args, run_dir)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr.decode()[-3000:]
    assert "--resume" in stderr.decode()
    assert not (run_dir / "model.keras").exists()
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    _assert_same_end(run_dir, uninterrupted_run)
