"""``eegseq compare`` end to end on the tiny comparison: shards merge into the single-process report,
a job killed with SIGKILL resumes, a diverged job is recorded and not retried."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from smoke_cli import REPO, cli, cli_env, run_cli

from eegseq.locks import exclusive
from eegseq.pipelines import compare_run
from eegseq.pipelines.compare_grid import Shard, grid
from eegseq.pipelines.compare_run import CLAIM_FILE, DIVERGED, STATUS_FILE, job_dir, run_job, run_jobs
from eegseq.pipelines.config import load_config
from eegseq.pipelines.train import StoppedBySignal, TrainingStopped

COMPARE_SMOKE = REPO / "configs" / "compare_smoke.yaml"
ONE_SEED = ("--set", "compare.seeds=1")  # none, the built-in layer and gal: one run each


def _args(run_dir, data_root):
    return ["compare", "--config", str(COMPARE_SMOKE), "--run-dir", str(run_dir), "--set", f"data.root={data_root}"]


def _comparison(run_dir):
    """comparison.json without the wall-clock timings (they differ between any two runs)."""
    result = json.loads((run_dir / "comparison" / "comparison.json").read_text())
    result.pop("timing")
    return result


@pytest.fixture(scope="module")
def reference(smoke_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("compare") / "single"
    result = run_cli(*_args(run_dir, smoke_data), *ONE_SEED)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "comparison written to" in result.stdout
    return run_dir


def test_single_process_comparison_holds_every_job_and_the_report(reference):
    config = load_config(reference / "compare.yaml")
    for job in grid(config.compare, config.train.seed):
        assert json.loads((job_dir(reference, job) / STATUS_FILE).read_text())["status"] == "finished"
        assert (job_dir(reference, job) / "evaluation" / "test" / "report.md").exists()
    report = (reference / "comparison" / "report.md").read_text()
    assert "## Findings" in report and "gal p=0.25 vs none" in report


def test_shards_on_separate_processes_merge_into_the_single_process_report(reference, smoke_data, tmp_path):
    run_dir = tmp_path / "sharded"
    shards = [
        subprocess.Popen(
            cli(*_args(run_dir, smoke_data), *ONE_SEED, "--shard", f"{i}/2"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
            cwd=REPO,
        )
        for i in range(2)
    ]
    for shard in shards:
        out, err = shard.communicate(timeout=600)
        assert shard.returncode == 0, err.decode()[-3000:]
        assert b"merge with: eegseq compare --merge" in out
    assert not (run_dir / "comparison").exists()  # shards do not merge
    merged = run_cli("compare", "--merge", "--run-dir", str(run_dir))
    assert merged.returncode == 0, merged.stderr[-3000:]
    assert _comparison(run_dir) == _comparison(reference)


def _children(pid):
    """Child process ids of ``pid`` with their command lines (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child): Path(f"/proc/{child}/cmdline").read_text().split("\0") for child in children}


def test_sigkill_of_one_job_then_rerun_resumes_it(reference, smoke_data, tmp_path):
    run_dir = tmp_path / "killed"
    args = [*_args(run_dir, smoke_data), *ONE_SEED, "--jobs", "2"]
    # The stock layer's job: its masks come from a stateful generator that the checkpoint must carry
    # (eegseq's own variants key theirs statelessly; the smoke run's SIGKILL test covers them).
    folder = run_dir / "jobs" / "tf_keras_builtin-p0.25-s0"
    parent = subprocess.Popen(cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(), cwd=REPO)
    deadline = time.monotonic() + 400
    while not (folder / "checkpoints" / "worker-0" / "latest").exists():
        assert parent.poll() is None, parent.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    pid = int((folder / CLAIM_FILE).read_text())  # the process running the job holds its claim
    assert pid in _children(parent.pid)
    os.kill(pid, signal.SIGKILL)
    assert not (folder / STATUS_FILE).exists(), "the kill came after the job ended"
    _, stderr = parent.communicate(timeout=600)
    assert parent.returncode == 1 and f"process {pid}: exit status -9" in stderr.decode()  # the parent names it
    rerun = run_cli(*args)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    assert "comparison written to" in rerun.stdout and "merge with" not in rerun.stdout  # no hint from children
    assert _comparison(run_dir) == _comparison(reference)  # resumed bit for bit


def test_processes_share_jobs_out_and_wait_for_one_held_elsewhere(monkeypatch, tmp_path):
    config = load_config(COMPARE_SMOKE, ["compare.seeds=1"])
    jobs = grid(config.compare, config.train.seed)
    order = []

    def fake_run_job(shared, job, run_dir):
        order.append(job.name)
        return {"job": job.name}

    monkeypatch.setattr(compare_run, "run_job", fake_run_job)
    records = []
    with exclusive(job_dir(tmp_path, jobs[0]) / CLAIM_FILE):  # another process is running the first job
        worker = threading.Thread(target=lambda: records.extend(run_jobs(config, jobs, tmp_path)))
        worker.start()
        deadline = time.monotonic() + 60
        while len(order) < len(jobs) - 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert order == [job.name for job in jobs[1:]]  # passed over, not run, while held
    worker.join(timeout=60)
    assert order == [job.name for job in jobs[1:]] + [jobs[0].name]  # taken once released
    assert [record["job"] for record in records] == [job.name for job in jobs]


def test_diverged_job_is_recorded_with_its_step_and_not_retried(monkeypatch, tmp_path):
    config = load_config(COMPARE_SMOKE)
    job = grid(config.compare, config.train.seed)[-1]
    calls = []

    def diverging_train(job_config, folder, resume):
        calls.append(resume)
        raise TrainingStopped("training diverged: mean loss 1e9 at step 7", step=7)

    monkeypatch.setattr(compare_run, "train_job", diverging_train)
    first = run_job(config, job, tmp_path)
    assert (first["status"], first["diverged_at_step"]) == (DIVERGED, 7) and "diverged" in first["reason"]
    assert run_job(config, job, tmp_path) == first and calls == [True]  # recorded once, never retried


def test_sigterm_of_a_job_leaves_it_unfinished(monkeypatch, tmp_path):
    config = load_config(COMPARE_SMOKE)
    job = grid(config.compare, config.train.seed)[0]

    def stopped_train(job_config, folder, resume):
        raise StoppedBySignal("stopped by SIGTERM", step=3)

    monkeypatch.setattr(compare_run, "train_job", stopped_train)
    with pytest.raises(StoppedBySignal):
        run_job(config, job, tmp_path)
    assert not (job_dir(tmp_path, job) / STATUS_FILE).exists()  # a rerun resumes it


class _FakeChild:
    """A stand-in for a ``compare`` child process that ends with a given exit status."""

    def __init__(self, code):
        self.code, self.pid = code, 4242

    def wait(self):
        return self.code

    def send_signal(self, signum):
        pass


@pytest.mark.parametrize(
    "codes, outcome",
    [
        ((143, 0), StoppedBySignal),  # stopped in training, after its checkpoint
        ((-signal.SIGTERM, 143), StoppedBySignal),  # one between jobs, killed by the signal itself
        ((-signal.SIGTERM, -signal.SIGTERM), StoppedBySignal),
        ((0, -signal.SIGKILL), RuntimeError),
        ((0, 0), None),
    ],
)
def test_children_exit_statuses_map_to_the_parents_outcome(monkeypatch, tmp_path, codes, outcome):
    statuses = iter(codes)
    monkeypatch.setattr(compare_run.subprocess, "Popen", lambda command, stdout: _FakeChild(next(statuses)))
    if outcome is None:
        compare_run.run_processes(tmp_path, Shard(0, 1), len(codes))
        return
    with pytest.raises(outcome) as raised:
        compare_run.run_processes(tmp_path, Shard(0, 1), len(codes))
    assert ("SIGTERM" if outcome is StoppedBySignal else "exit status -9") in str(raised.value)
