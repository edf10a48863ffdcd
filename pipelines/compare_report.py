"""Merge a comparison's job folders into ``comparison/``: ``comparison.json``, ``report.md`` and PNGs.

Works from files only (each job's ``compare_job.json``, ``history.csv``, ``evaluation/test/`` and
``diagnostics/diagnostics.json``), so folders written by any number of shards, processes or hosts
merge into the same report as a single process would write.

Paired differences: for a variant against a baseline (``none``; ``tf_keras_builtin`` at the same
rate), each bootstrap resample draws seeds and test recordings with replacement; both runs of a
drawn seed (same initial weights) are scored on the drawn recordings at their own thresholds
(:class:`RunScores`), and the difference of the seed means is one draw.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eegseq.files import atomic_write_json, atomic_write_text
from eegseq.pipelines.compare_config import BUILTIN, NONE
from eegseq.pipelines.compare_grid import CompareJob, grid
from eegseq.pipelines.compare_markdown import render_report
from eegseq.pipelines.compare_plots import plot_curves, plot_differences, plot_spreads
from eegseq.pipelines.compare_resample import RunScores
from eegseq.pipelines.compare_run import DIVERGED, FINISHED, job_dir, read_status
from eegseq.pipelines.compare_stats import (
    HEADLINE,
    Draws,
    compared_metrics,
    finding,
    mean_std,
    paired_differences,
    paired_point,
    percentile_interval,
    sample_size_finding,
    tie_finding,
)
from eegseq.pipelines.config import JobConfig
from eegseq.pipelines.errors import Refused

SCHEMA_VERSION = "1.1"  # 1.1: "metrics" (the headline metrics reported), "evaluation_warnings"
REPORT_DIR = "comparison"
DIAGNOSTICS_FILE = Path("diagnostics") / "diagnostics.json"
# x axes of the diagnostics' curves (a sibling list under the same key), and lists that are not curves
CURVE_X = ("lag_steps", "time_s", "separation_windows")
NOT_CURVES = ("recordings",)


@dataclass
class Cell:
    """One (variant, rate) of the grid with its runs, in seed order."""

    variant: str
    rate: float | None
    jobs: list[CompareJob] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.variant if self.rate is None else f"{self.variant} p={self.rate:g}"


def cells_of(jobs: list[CompareJob]) -> list[Cell]:
    cells: dict[tuple, Cell] = {}
    for job in jobs:
        cells.setdefault((job.variant.name, job.rate), Cell(job.variant.name, job.rate)).jobs.append(job)
    return list(cells.values())


@dataclass
class RunData:
    """What the report needs of one job."""

    job: CompareJob
    status: dict
    history: list[dict]
    headline: dict[str, float | None]
    warnings: list[str]  # the test evaluation's (metrics.json), e.g. too few seizures in a split
    diagnostics: dict | None
    resampled: dict[str, np.ndarray] | None  # metric -> (resamples,) on the drawn recordings


def _history(folder: Path) -> list[dict]:
    path = folder / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _nan(value) -> float:
    return np.nan if value is None else float(value)


def load_runs(run_dir: Path, jobs: list[CompareJob], draws_for) -> tuple[list[RunData], list[str], Draws | None]:
    """Every job's data, the test recordings, and the shared :class:`Draws` (None when no job finished).

    ``draws_for(n_recordings)`` draws the resamples once the test set is known.
    """
    missing = [job.name for job in jobs if read_status(job_dir(run_dir, job)) is None]
    if missing:
        raise Refused(
            f"{run_dir}: {len(missing)} of {len(jobs)} jobs are not done ({', '.join(missing[:8])}"
            f"{', ...' if len(missing) > 8 else ''}); run the remaining shards (or the same command) first"
        )
    runs, recordings, draws = [], None, None
    for job in jobs:
        folder = job_dir(run_dir, job)
        status = read_status(folder)
        headline, resampled, warnings = dict.fromkeys(HEADLINE), None, []
        if status["status"] == FINISHED:
            scores = RunScores.load(folder / "evaluation" / "test")
            warnings = json.loads((folder / "evaluation" / "test" / "metrics.json").read_text())["warnings"]
            if recordings is None:
                recordings, draws = scores.recordings, draws_for(len(scores.recordings))
            elif scores.recordings != recordings:
                raise ValueError(f"{folder}: its test recordings differ from the other jobs' ({recordings[:3]}...)")
            headline = {k: None if math.isnan(v) else v for k, v in scores.headline(np.arange(len(recordings))).items()}
            per_draw = [scores.headline(chosen) for chosen in draws.recordings]
            resampled = {name: np.array([d[name] for d in per_draw]) for name in HEADLINE}
        diagnostics_path = folder / DIAGNOSTICS_FILE
        diagnostics = json.loads(diagnostics_path.read_text()) if diagnostics_path.exists() else None
        runs.append(RunData(job, status, _history(folder), headline, warnings, diagnostics, resampled))
    return runs, recordings or [], draws


def _flatten(tree, prefix: str = "") -> dict:
    """Numeric leaves (numbers and lists of numbers) of a JSON tree by dotted path."""
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in _flatten(value, f"{prefix}{key}.").items()}
    if isinstance(tree, bool):
        return {}
    if isinstance(tree, (int, float)) or tree is None:
        return {prefix.rstrip("."): tree}
    if isinstance(tree, list) and tree and all(isinstance(v, (int, float)) or v is None for v in tree):
        return {prefix.rstrip("."): tree}
    return {}


def _curve(x: list, series: list[list]) -> dict | None:
    """Mean and std over seeds at each point of equally long curves (None and NaN ignored), with their x."""
    if not series or len({len(s) for s in series}) != 1:
        return None
    array = np.array([[_nan(v) for v in s] for s in series], dtype=float)
    stats = [mean_std(column) for column in array.T]
    return {"x": x, "mean": [s["mean"] for s in stats], "std": [s["std"] for s in stats]}


def _diagnostics(runs: list[RunData]) -> dict:
    """Each run's ``diagnostics.json`` aggregated over seeds: numbers as mean and std, curves per point.

    A list is a curve; its x is the sibling list named in :data:`CURVE_X` (else its index). The
    ``run`` block (what was measured) and the x lists themselves are not aggregated.
    """
    flat = [_flatten({k: v for k, v in run.diagnostics.items() if k != "run"}) for run in runs if run.diagnostics]
    scalars, curves = {}, {}
    for path in sorted({p for f in flat for p in f}):
        name = path.rsplit(".", 1)[-1]
        values = [f[path] for f in flat if f.get(path) is not None]
        if name in CURVE_X or name in NOT_CURVES or not values:
            continue
        if all(isinstance(v, list) for v in values):
            parent = path.rsplit(".", 1)[0] + "." if "." in path else ""
            x = next((f[parent + key] for key in CURVE_X for f in flat if f.get(parent + key)), None)
            curve = _curve(x or list(range(len(values[0]))), values)
            if curve is not None:
                curves[path] = curve
        elif not any(isinstance(v, list) for v in values):
            scalars[path] = mean_std(values)
    return {"n_runs": len(flat), "scalars": scalars, "curves": curves}


def _learning_curves(runs: list[RunData]) -> dict:
    """Per history column (``val_auc``, ``train_loss``, ...): mean and std over seeds per epoch (a diverged
    run's curve ends early)."""
    columns = sorted({k for run in runs for row in run.history for k in row if k not in ("epoch", "step")})
    curves = {}
    for column in columns:
        length = max((len(run.history) for run in runs), default=0)
        table = np.full((len(runs), length), np.nan)
        for i, run in enumerate(runs):
            table[i, : len(run.history)] = [_nan(row.get(column)) for row in run.history]
        curves[column] = _curve(list(range(length)), table.tolist())
    return curves


def _baseline_cell(cells: list[Cell], name: str, rate: float | None) -> Cell | None:
    for cell in cells:
        if cell.variant == name and (name == NONE or cell.rate == rate):
            return cell
    return None


def merge_report(run_dir: Path, shared: JobConfig) -> Path:
    """Build ``run_dir/comparison/`` from the job folders; returns the report's path."""
    compare = shared.compare
    jobs = grid(compare, shared.train.seed)
    seeds = compare.seed_list(shared.train.seed)

    def draws_for(n_recordings: int) -> Draws:
        return Draws.draw(len(seeds), n_recordings, compare.bootstrap_resamples, compare.bootstrap_seed)

    runs, recordings, draws = load_runs(run_dir, jobs, draws_for)
    draws = draws or draws_for(1)
    by_job = {run.job.name: run for run in runs}
    cells = cells_of(jobs)
    resamples = compare.bootstrap_resamples
    metrics = compared_metrics(shared.stream.labels.source)

    def matrix(cell: Cell, metric: str) -> np.ndarray:
        """(n_seeds, resamples) resampled metric of the cell's runs; NaN rows for runs without a model."""
        rows = [by_job[job.name].resampled for job in cell.jobs]
        return np.array([row[metric] if row is not None else np.full(resamples, np.nan) for row in rows])

    def points(cell: Cell, metric: str) -> np.ndarray:
        return np.array([_nan(by_job[job.name].headline[metric]) for job in cell.jobs])

    caveats = [sample_size_finding(len(recordings), len(seeds))]
    caveats += [tie_finding(metric, [run.headline[metric] for run in runs]) for metric in metrics]
    findings = [text for text in caveats if text is not None]
    cell_records = []
    for cell in cells:
        cell_runs = [by_job[job.name] for job in cell.jobs]
        diverged = [run for run in cell_runs if run.status["status"] == DIVERGED]
        differences = {}
        for baseline_name in (NONE, BUILTIN):
            baseline = _baseline_cell(cells, baseline_name, cell.rate)
            if baseline is None or baseline is cell:
                continue
            block = {}
            for metric in metrics:
                diffs = paired_differences(matrix(cell, metric), matrix(baseline, metric), draws.seeds)
                block[metric] = {
                    "difference": paired_point(points(cell, metric), points(baseline, metric)),
                    **percentile_interval(diffs, compare.confidence_level),
                }
                findings.append(finding(metric, cell.label, baseline.label, block[metric]))
            differences[baseline.label] = block
        if diverged:
            steps = ", ".join(str(run.status["diverged_at_step"]) for run in diverged)
            findings.append(f"{cell.label}: {len(diverged)} of {len(cell_runs)} seeds diverged (at steps {steps}).")
        cell_records.append(
            {
                "variant": cell.variant,
                "rate": cell.rate,
                "label": cell.label,
                "runs": [
                    {
                        "job": run.job.name,
                        "seed": run.job.seed,
                        "status": run.status["status"],
                        "diverged_at_step": run.status["diverged_at_step"],
                        "headline": {metric: run.headline[metric] for metric in metrics},
                    }
                    for run in cell_runs
                ],
                "diverged": {"count": len(diverged), "steps": [run.status["diverged_at_step"] for run in diverged]},
                "headline": {metric: mean_std(points(cell, metric)) for metric in metrics},
                "differences": differences,
                "learning_curves": _learning_curves(cell_runs),
                "diagnostics": _diagnostics(cell_runs),
            }
        )
    comparison = {
        "schema_version": SCHEMA_VERSION,
        "seeds": seeds,
        "metrics": list(metrics),
        "test_recordings": recordings,
        "bootstrap": {
            "unit": "seeds x recordings",
            "n_resamples": resamples,
            "seed": compare.bootstrap_seed,
            "confidence_level": compare.confidence_level,
        },
        "cells": cell_records,
        "findings": findings,
        "evaluation_warnings": sorted({warning for run in runs for warning in run.warnings}),
        "timing": {
            run.job.name: {"seconds": run.status["seconds"], "cpu_seconds": run.status["cpu_seconds"]} for run in runs
        },
    }
    out = run_dir / REPORT_DIR
    atomic_write_json(out / "comparison.json", comparison)
    images = {
        "metric_spread.png": plot_spreads(cell_records, metrics, out / "metric_spread.png"),
        "differences.png": plot_differences(cell_records, metrics, out / "differences.png"),
        "learning_curves.png": plot_curves(cell_records, "learning_curves", out / "learning_curves.png"),
    }
    if any(cell["diagnostics"]["curves"] for cell in cell_records):
        images["diagnostics.png"] = plot_curves(cell_records, "diagnostics", out / "diagnostics.png")
    return atomic_write_text(out / "report.md", render_report(comparison, shared, images))
