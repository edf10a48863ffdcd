"""Running comparison jobs: each is an ordinary resumable training run, then its evaluation.

A job's folder is ``<run-dir>/jobs/<job name>/``, a run directory like any ``eegseq train`` makes, with
its diagnostics (``diagnostics/``) measured on the test split.
``compare_job.json`` is written last (atomically) when the job is done, finished or diverged; a job
without it is unfinished and a rerun resumes it from its last checkpoint. A process runs a job only
while it holds the job's claim (``<job folder>/.claim.lock``), so processes given the same jobs share
them out as they go, and a job is never run twice at once.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import yaml

from eegseq.files import atomic_write_json, atomic_write_text
from eegseq.locks import LockHeld, exclusive
from eegseq.pipelines.compare_grid import CompareJob, Shard
from eegseq.pipelines.config import JobConfig, to_yaml
from eegseq.pipelines.diagnose import diagnose_run
from eegseq.pipelines.errors import Refused
from eegseq.pipelines.evaluate import evaluate_job
from eegseq.pipelines.train import StoppedBySignal, TrainingStopped, train_job

log = logging.getLogger(__name__)

JOBS_DIR = "jobs"
STATUS_FILE = "compare_job.json"
SHARED_CONFIG = "compare.yaml"
CLAIM_FILE = ".claim.lock"
FINISHED, DIVERGED = "finished", "diverged"


def job_dir(run_dir: Path, job: CompareJob) -> Path:
    return run_dir / JOBS_DIR / job.name


def read_status(folder: Path) -> dict | None:
    """The ``compare_job.json`` of a done job, or None while it is unfinished."""
    path = folder / STATUS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def record_shared_config(run_dir: Path, config: JobConfig) -> None:
    """Write ``compare.yaml`` (the shared config) or check that an existing one is the same.

    Every shard and rerun must train the same grid: a different config in the same folder would
    mix incomparable runs, so it is refused, naming the fields that differ.
    """
    path = run_dir / SHARED_CONFIG
    text = to_yaml(config)
    if path.exists():
        recorded = yaml.safe_load(path.read_text())
        differences = _differences(recorded, yaml.safe_load(text))
        if differences:
            raise Refused(
                f"{path}: this folder holds a comparison with another config (differs at {', '.join(differences)}); "
                "use a new --run-dir, or the same config to continue it"
            )
        return
    atomic_write_text(path, text)


def _differences(old, new, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            d
            for key in sorted(set(old) | set(new))
            for d in _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        ]
    return [] if old == new else [prefix.rstrip(".")]


def run_job(shared: JobConfig, job: CompareJob, run_dir: Path) -> dict:
    """Train (resuming) and evaluate ``job`` unless it is done; returns its status record.

    A run stopped by the loss guard (a non-finite or exploding loss) is recorded as diverged, with
    the step, not retried. SIGTERM propagates (:class:`StoppedBySignal`): the job resumes on rerun.
    """
    folder = job_dir(run_dir, job)
    done = read_status(folder)
    if done is not None:
        return done
    config = job.config(shared)
    wall, cpu = time.perf_counter(), time.process_time()
    record = {"job": job.name, "variant": job.variant.name, "rate": job.rate, "seed": job.seed}
    try:
        train_job(config, folder, resume=True)
        evaluate_job(folder, "test", config)
        diagnose_run(folder, "test", config=config)
        record.update(status=FINISHED, diverged_at_step=None, reason=None)
    except StoppedBySignal:
        raise
    except TrainingStopped as stopped:
        record.update(status=DIVERGED, diverged_at_step=stopped.step, reason=str(stopped))
    record.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
    atomic_write_json(folder / STATUS_FILE, record)
    log.info("%s: %s in %.0f s", job.name, record["status"], record["seconds"])
    return record


def run_jobs(shared: JobConfig, jobs: list[CompareJob], run_dir: Path) -> list[dict]:
    """Run ``jobs`` in this process, in order, each under its claim; returns their status records.

    A job another process is running is passed over, then waited for at the end (its record is then
    read, or, if that process died, the job is resumed here).
    """
    records, running_elsewhere = {}, []
    for job in jobs:
        with ExitStack() as claim:
            try:
                claim.enter_context(exclusive(job_dir(run_dir, job) / CLAIM_FILE))
            except LockHeld as held:
                log.info("%s: running in process %s; taking the next job", job.name, held.holder)
                running_elsewhere.append(job)
                continue
            records[job.name] = run_job(shared, job, run_dir)
    for job in running_elsewhere:
        with exclusive(job_dir(run_dir, job) / CLAIM_FILE, wait=True):
            records[job.name] = run_job(shared, job, run_dir)
    return [records[job.name] for job in jobs]


def run_processes(run_dir: Path, shard: Shard, processes: int, verbose: bool = False) -> None:
    """Run ``shard`` in ``processes`` local processes (``eegseq compare --shard``) that share its jobs out.

    SIGTERM is forwarded to every process (each checkpoints its job and exits); a rerun resumes.
    """
    command = [sys.executable, "-m", "eegseq.pipelines", "compare", "--config", str(run_dir / SHARED_CONFIG)]
    command += ["--run-dir", str(run_dir), "--shard", f"{shard.index}/{shard.count}"] + (
        ["--verbose"] if verbose else []
    )
    # A child's only stdout line is its "shard done; merge with ..." hint, which this parent acts on itself.
    children = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(processes)]

    def forward(signum, frame):
        for child in children:
            child.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        codes = [child.wait() for child in children]
    finally:
        signal.signal(signal.SIGTERM, previous)
    # A child stopped in training exits 143 after its checkpoint; one between jobs (evaluating, waiting for
    # a claim) dies by the signal itself (-15). Either way its job has no status file and a rerun redoes it.
    stopped = (128 + signal.SIGTERM, -signal.SIGTERM)
    if any(code in stopped for code in codes):
        raise StoppedBySignal(f"stopped by SIGTERM; run the same command to resume the comparison in {run_dir}")
    failed = [f"process {child.pid}: exit status {code}" for child, code in zip(children, codes) if code != 0]
    if failed:
        raise RuntimeError(
            f"{len(failed)} of {processes} compare processes failed ({'; '.join(failed)}); "
            "their messages are above; rerun the same command to resume"
        )
