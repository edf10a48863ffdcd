"""Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train exactly like one process with the
same global lanes (each worker owns one of the two lanes)."""

import json
import socket
import subprocess
import time

import numpy as np
import tf_keras as keras
from smoke_cli import REPO, cli, cli_env, train_args

from eegseq.models import StreamModel  # noqa: F401  (registers eegseq's layers for load_model)

TIMEOUT_S = 420


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_equal_one_process(smoke_data, uninterrupted_run, tmp_path):
    run_dir = tmp_path / "run"
    cluster = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    args = train_args(run_dir, smoke_data, "--set", "distribute.strategy=multi_worker")
    workers = []
    for index in range(2):
        env = {
            **cli_env(),
            "TF_CONFIG": json.dumps({"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}),
        }
        log = open(tmp_path / f"worker{index}.log", "w")  # noqa: SIM115 (open while the worker runs; closed below)
        workers.append((subprocess.Popen(cli(*args), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO), log))
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while any(p.poll() is None for p, _ in workers) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for process, log in workers:
            if process.poll() is None:
                process.kill()  # such workers ignore SIGTERM while blocked in collectives
            process.wait()
            log.close()
    logs = [(tmp_path / f"worker{i}.log").read_text()[-3000:] for i in range(2)]
    assert all(p.returncode == 0 for p, _ in workers), logs
    assert (run_dir / "checkpoints" / "worker-1").is_dir()  # each worker keeps its own lanes
    trained = keras.models.load_model(run_dir / "model.keras").get_weights()
    single = keras.models.load_model(uninterrupted_run / "model.keras").get_weights()
    for a, b in zip(trained, single):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    history = json.loads((run_dir / "metrics.json").read_text())["training"]["history"]
    assert [h["epoch"] for h in history] == [0, 1]
