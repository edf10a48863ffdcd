"""Time ``eegseq compare`` against its budgets: smoke <= 3 min, default <= 45 min on 2 CPU cores.

    .venv/bin/python benchmarks/compare_budget.py                                  # the smoke compare, whole
    .venv/bin/python benchmarks/compare_budget.py --config configs/compare.yaml --shards 8
        # one shard of 8 of the default grid, timed, extrapolated to the whole grid

Runs the command line in a fresh run directory and prints its wall time and CPU time (user + system
of the process and its children). With ``--shards n`` only shard 0/n runs and the whole grid is
estimated from the per-job times in the jobs' ``compare_job.json`` (jobs differ only in dropout,
so their cost differs little). On a shared machine the wall time depends on the other load: the
CPU time divided by the cores is the figure that does not (a lower bound of the wall time, reached
when the job keeps both cores busy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "compare_smoke.yaml")
    parser.add_argument("--shards", type=int, default=1, help="run shard 0 of this many and extrapolate")
    parser.add_argument("--budget-min", type=float, help="budget in minutes (default: 3 smoke, 45 otherwise)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    budget = args.budget_min or (3.0 if "smoke" in args.config.name else 45.0)
    with tempfile.TemporaryDirectory(prefix="compare_budget_") as scratch:
        scratch = Path(scratch)
        command = [sys.executable, "-m", "eegseq.pipelines", "compare", "--config", str(args.config)]
        command += ["--run-dir", str(scratch / "run"), "--set", f"data.root={scratch / 'data'}"]
        for override in args.overrides:
            command += ["--set", override]
        if args.shards > 1:
            command += ["--shard", f"0/{args.shards}"]
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        cpu_before, started = _cpu_of_children(), time.perf_counter()
        subprocess.run(command, check=True, env=environment, cwd=REPO, stdout=subprocess.DEVNULL)
        wall, cpu = time.perf_counter() - started, _cpu_of_children() - cpu_before
        records = [json.loads(p.read_text()) for p in sorted((scratch / "run" / "jobs").glob("*/compare_job.json"))]
        from eegseq.pipelines.compare_grid import grid
        from eegseq.pipelines.config import load_config

        config = load_config(scratch / "run" / "compare.yaml")
        n_jobs = len(grid(config.compare, config.train.seed))
    job_wall = sorted(r["seconds"] for r in records)
    job_cpu = sorted(r["cpu_seconds"] for r in records)
    print(f"config {args.config.name}: {len(records)} of {n_jobs} jobs run, load average {os.getloadavg()[0]:.1f}")
    print(f"measured: {wall / 60:.2f} min wall, {cpu / 60:.2f} min CPU (process and children)")
    print(f"per job: median {job_wall[len(job_wall) // 2]:.0f} s wall, {job_cpu[len(job_cpu) // 2]:.0f} s CPU")
    if args.shards > 1:
        overhead_cpu = cpu - sum(job_cpu)  # start-up, ingest, and what is not in a job
        cpu = overhead_cpu + sum(job_cpu) / len(job_cpu) * n_jobs
        wall = wall / len(records) * n_jobs
        print(f"whole grid, extrapolated: {wall / 60:.1f} min wall at this load, {cpu / 60:.1f} min CPU")
    floor = cpu / args.cores / 60
    print(
        f"CPU / {args.cores} cores = {floor:.1f} min against a budget of {budget:g} min "
        f"(ratio {floor / budget:.2f}; wall ratio at this load {wall / 60 / budget:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
