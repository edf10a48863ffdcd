"""``eegseq compare``: dropout variants x rates x seeds, each an ordinary training run, then one report.

Without ``shard`` every job runs here (in ``processes`` local processes) and the report is merged;
with ``shard`` only that slice runs (a cluster array task) and ``merge`` builds the report later
from the shared run directory. Reruns skip done jobs and resume unfinished ones.
"""

from __future__ import annotations

from pathlib import Path

from eegseq.pipelines.compare_grid import Shard, grid
from eegseq.pipelines.compare_report import merge_report
from eegseq.pipelines.compare_run import record_shared_config, run_jobs, run_processes
from eegseq.pipelines.config import JobConfig
from eegseq.pipelines.ingest import run_ingest


def compare_job(config: JobConfig, run_dir: Path, shard: Shard | None = None, processes: int = 1) -> Path | None:
    """Run the comparison (or one ``shard`` of it) in ``run_dir``.

    Returns:
        The report's path, or None for a shard (merge with :func:`merge_report` when all are done).
    """
    record_shared_config(run_dir, config)
    # One ingest before any job (shards started together wait for the one that writes the store):
    # jobs and local processes then find the store complete.
    run_ingest(config.data, progress=config.train.progress)
    whole = shard is None
    shard = shard or Shard(0, 1)
    if processes > 1:
        run_processes(run_dir, shard, processes)
    else:
        run_jobs(config, shard.select(grid(config.compare, config.train.seed)), run_dir)
    return merge_report(run_dir, config) if whole else None
