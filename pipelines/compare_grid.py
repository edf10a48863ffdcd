"""The comparison grid: dropout variants x rates x seeds, each one ordinary training run.

A :class:`CompareJob` is one (variant, rate, seed) cell of the grid. Its :class:`JobConfig` is the
shared config with only the recurrent dropout, the model implementation and the seeds changed, so
every job sees the same data, splits, windows, step budget and learning-rate schedule, and jobs of
the same seed start from the same initial weights where shapes match.

Shards slice the grid round-robin (job ``j`` belongs to shard ``j % n``), so each shard gets a mix
of variants; the local processes of one shard share its jobs out as they go
(:func:`eegseq.pipelines.compare_run.run_jobs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from eegseq.pipelines.compare_config import BUILTIN, NONE, CompareConfig, VariantConfig
from eegseq.pipelines.config import JobConfig


@dataclass(frozen=True)
class CompareJob:
    """One cell of the grid: ``variant`` at drop ``rate`` (None for ``none``) trained with ``seed``."""

    variant: VariantConfig
    rate: float | None
    seed: int

    @property
    def name(self) -> str:
        """The job's folder name, e.g. ``semeniuta-p0.25-s1`` or ``none-s0``."""
        rate = "" if self.rate is None else f"-p{self.rate:g}"
        return f"{self.variant.name}{rate}-s{self.seed}"

    def config(self, shared: JobConfig) -> JobConfig:
        """``shared`` with this job's dropout, implementation and seeds.

        Early stopping is switched off so that every job trains the same number of steps; the model
        kept is still the best validation epoch.
        """
        tree = shared.model_dump(mode="json")
        rnn = tree["model"]["rnn"]
        rnn["dropout"] = self.variant.dropout.model_copy(update={"rate": self.rate}).model_dump(mode="json")
        for override in rnn["per_layer"]:
            override["dropout"] = None  # the variant is the stack's dropout, on every layer
        if self.variant.name == BUILTIN:
            rnn["implementation"] = BUILTIN
        tree["model"]["seed"] = tree["train"]["seed"] = self.seed
        tree["train"]["early_stopping_patience"] = None
        return JobConfig.model_validate(tree)


def grid(compare: CompareConfig, base_seed: int) -> list[CompareJob]:
    """Every job, seed-major (all variants of the first seed first), in a fixed order."""
    jobs = []
    for seed in compare.seed_list(base_seed):
        for variant in compare.resolved_variants():
            rates = [None] if variant.name == NONE else (variant.rates or compare.rates)
            jobs.extend(CompareJob(variant, rate, seed) for rate in rates)
    return jobs


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` of ``count``: the jobs whose grid position ``j`` has ``j % count == index``."""

    index: int
    count: int

    def __post_init__(self):
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"shard {self.index}/{self.count} is not valid; expected 0 <= index < count")

    def select(self, jobs: list[CompareJob]) -> list[CompareJob]:
        return jobs[self.index :: self.count]

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` -> ``Shard(i, n)``."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard {text!r}: expected INDEX/COUNT, e.g. 0/4") from None
        return cls(index, count)


def shard_from_environment(configured_count: int | None, environ=os.environ) -> Shard | None:
    """The shard of a Kubernetes Indexed Job (``JOB_COMPLETION_INDEX``) or a Slurm array task, if any.

    The count is ``compare.shards``; a Slurm array may give it instead (``SLURM_ARRAY_TASK_COUNT``),
    and its index is counted from ``SLURM_ARRAY_TASK_MIN``.
    """
    if "JOB_COMPLETION_INDEX" in environ:
        index, count, source = int(environ["JOB_COMPLETION_INDEX"]), configured_count, "JOB_COMPLETION_INDEX"
    elif "SLURM_ARRAY_TASK_ID" in environ:
        index = int(environ["SLURM_ARRAY_TASK_ID"]) - int(environ.get("SLURM_ARRAY_TASK_MIN", 0))
        count = configured_count or int(environ.get("SLURM_ARRAY_TASK_COUNT", 0)) or None
        source = "SLURM_ARRAY_TASK_ID"
    else:
        return None
    if count is None:
        raise ValueError(f"{source} is set but the shard count is unknown: set compare.shards or pass --shard i/n")
    return Shard(index, count)
