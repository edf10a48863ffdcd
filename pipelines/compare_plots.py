"""PNG figures of a comparison: metric spreads over seeds, paired differences, curves over seeds.

Built on ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state); written atomically.
Each function takes the ``cells`` of ``comparison.json``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from eegseq.files import atomic_path

_DPI = 100


def _grid_figure(n_panels: int, width_in: float = 4.2, height_in: float = 3.2, columns: int = 2):
    columns = min(columns, max(1, n_panels))
    rows = math.ceil(max(1, n_panels) / columns)
    figure = Figure(figsize=(width_in * columns, height_in * rows), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for unused in axes[n_panels:]:
        unused.set_visible(False)
    return figure, axes


def _save(figure: Figure, path: Path) -> Path:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    return path


def plot_spreads(cells: list[dict], metrics, path: Path) -> Path:
    """Per metric, every seed's value (dots) and the mean over seeds (bar) of each cell; diverged seeds as x at 0."""
    figure, axes = _grid_figure(len(metrics))
    labels = [cell["label"] for cell in cells]
    for axis, metric in zip(axes, metrics):
        for x, cell in enumerate(cells):
            values = [run["headline"][metric] for run in cell["runs"]]
            defined = [v for v in values if v is not None]
            axis.scatter([x] * len(defined), defined, s=14, color="tab:blue", zorder=3)
            diverged = sum(run["status"] == "diverged" for run in cell["runs"])
            if diverged:
                axis.scatter([x] * diverged, [0] * diverged, marker="x", color="tab:red", zorder=3)
            mean = cell["headline"][metric]["mean"]
            if mean is not None:
                axis.hlines(mean, x - 0.3, x + 0.3, color="black")
        axis.set_xticks(range(len(cells)), labels, rotation=60, ha="right", fontsize=7)
        axis.set_title(metric, fontsize=9)
    return _save(figure, path)


def plot_differences(cells: list[dict], metrics, path: Path) -> Path:
    """Per metric, the paired difference of each cell against each baseline with its interval."""
    figure, axes = _grid_figure(len(metrics), height_in=max(3.0, 0.28 * len(cells) + 1.2))
    for axis, metric in zip(axes, metrics):
        rows = [
            (f"{cell['label']} - {baseline}", block[metric])
            for cell in cells
            for baseline, block in cell["differences"].items()
        ]
        for y, (_, entry) in enumerate(rows):
            if entry["difference"] is None or entry["low"] is None:
                continue
            axis.errorbar(
                entry["difference"],
                y,
                xerr=[[entry["difference"] - entry["low"]], [entry["high"] - entry["difference"]]],
                fmt="o",
                color="tab:blue" if entry["low"] <= 0 <= entry["high"] else "tab:orange",
                markersize=3,
            )
        axis.axvline(0, color="grey", linewidth=0.8)
        axis.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=6)
        axis.invert_yaxis()
        axis.set_title(f"{metric}: paired difference", fontsize=9)
    return _save(figure, path)


# x axes of the diagnostics' curves, by the diagnostic the curve belongs to (docs/compare.md#diagnosticsjson)
X_LABELS = {
    "gradient_flow": "lag k (RNN steps)",
    "state_scale": "time in recording (s)",
    "memory_retention": "windows between cue and score",
}


def plot_curves(cells: list[dict], key: str, path: Path) -> Path:
    """Curves of ``cell[key]`` (learning curves, or diagnostics' ``curves``): mean over seeds, +- std shaded."""
    curves_of = [cell[key]["curves"] if key == "diagnostics" else cell[key] for cell in cells]
    names = sorted({name for curves in curves_of for name in curves})
    figure, axes = _grid_figure(len(names))
    for axis, name in zip(axes, names):
        for cell, curves in zip(cells, curves_of):
            if name not in curves:
                continue
            mean = np.array([np.nan if v is None else v for v in curves[name]["mean"]], dtype=float)
            std = np.array([np.nan if v is None else v for v in curves[name]["std"]], dtype=float)
            x = np.asarray(curves[name]["x"], dtype=float)
            (line,) = axis.plot(x, mean, ".-", label=cell["label"], linewidth=1, markersize=3)  # 1 point shows too
            axis.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15, linewidth=0)
            positive = mean[np.isfinite(mean)]
            if positive.size and positive.min() > 0 and positive.max() > 1e3 * positive.min():
                axis.set_yscale("log")  # gradient norms over lags span decades
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("epoch" if key == "learning_curves" else X_LABELS.get(name.split(".")[0], "x"), fontsize=8)
    if names:
        axes[0].legend(fontsize=6)
    return _save(figure, path)
