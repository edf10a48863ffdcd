"""``comparison/report.md``: the human-readable comparison, rendered from ``comparison.json``."""

from __future__ import annotations

from pathlib import Path

from eegseq.pipelines.compare_stats import EVENT_METRICS
from eegseq.pipelines.config import JobConfig

RETENTION = "memory_retention"  # the diagnostics' curves against cue separation: roc_auc, accuracy


def _number(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def _spread(stats: dict) -> str:
    if stats["mean"] is None:
        return "–"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f} (n={stats['n']})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def _retention_table(cells: list[dict]) -> list[str]:
    """Memory retention (ROC-AUC and accuracy against windows between cue and score), one row per
    variant; nothing where no run measured it (a task without a cue)."""
    curves = {
        c["label"]: {k: c["diagnostics"]["curves"].get(f"{RETENTION}.{k}") for k in ("roc_auc", "accuracy")}
        for c in cells
    }
    separations = sorted({x for pair in curves.values() for curve in pair.values() if curve for x in curve["x"]})
    if not separations:
        return []

    def at(curve: dict | None, x: int) -> str:
        if not curve or x not in curve["x"] or curve["mean"][curve["x"].index(x)] is None:
            return "–"
        i = curve["x"].index(x)
        return f"{curve['mean'][i]:.3f} ± {curve['std'][i]:.3f}"

    rows = [
        [label, *(f"{at(pair['roc_auc'], x)} / {at(pair['accuracy'], x)}" for x in separations)]
        for label, pair in curves.items()
    ]
    return [
        "## Memory retention (ROC-AUC / accuracy at the run's threshold, mean ± std over seeds)",
        "",
        "Columns: windows between the cue's window and the scored window (0: the cue's own window). "
        "The ROC-AUC does not depend on the threshold: an accuracy below it is a calibration shift, not lost memory.",
        "",
        *_table(["variant", *(str(x) for x in separations)], rows),
    ]


def render_report(comparison: dict, shared: JobConfig, images: dict[str, Path]) -> str:
    cells = comparison["cells"]
    metrics = comparison["metrics"]
    boot = comparison["bootstrap"]
    level = f"{boot['confidence_level']:.0%}"
    lines = [
        "# Recurrent-dropout comparison",
        "",
        f"{len(cells)} (variant, rate) cells including the baselines, seeds {comparison['seeds']}, "
        f"{sum(len(c['runs']) for c in cells)} training runs; test split: "
        f"{len(comparison['test_recordings'])} recordings. Every run trains {shared.train.epochs} "
        f"epoch{'s' * (shared.train.epochs != 1)} "
        f"(no early stopping; the best validation epoch is kept) on the same data, windows "
        f"({shared.stream.window_seconds:g} s) and learning-rate schedule; "
        "runs of one seed share their initial weights.",
        *(
            []
            if set(EVENT_METRICS) <= set(metrics)
            else ["", "Event metrics are not reported: windows take their labels from the recording, not from events."]
        ),
        "",
        "## Headline metrics (mean ± std over seeds)",
        "",
        *_table(
            ["variant", *metrics, "diverged"],
            [
                [
                    c["label"],
                    *(_spread(c["headline"][m]) for m in metrics),
                    f"{c['diverged']['count']}/{len(c['runs'])}",
                ]
                for c in cells
            ],
        ),
        "",
        f"## Paired differences ({level} bootstrap intervals over {boot['unit']}, {boot['n_resamples']} resamples)",
        "",
        "Difference = variant − baseline, same seeds, same test recordings. "
        "An interval that includes 0 shows no difference.",
        "",
    ]
    rows = []
    for cell in cells:
        for baseline, block in cell["differences"].items():
            rows.append(
                [
                    cell["label"],
                    baseline,
                    *(
                        f"{_number(block[m]['difference'])} [{_number(block[m]['low'])}, {_number(block[m]['high'])}]"
                        for m in metrics
                    ),
                ]
            )
    lines += [*_table(["variant", "baseline", *metrics], rows), "", "## Findings", ""]
    lines += [f"- {text}" for text in comparison["findings"]] or ["- (none)"]
    if comparison["evaluation_warnings"]:
        lines += ["", "The runs' test evaluations warned (each run's `evaluation/test/metrics.json`):", ""]
        lines += [f"- {text}" for text in comparison["evaluation_warnings"]]
    lines += ["", "## Stability", ""]
    diverged_rows = [
        [c["label"], run["job"], str(run["diverged_at_step"])]
        for c in cells
        for run in c["runs"]
        if run["status"] == "diverged"
    ]
    if diverged_rows:
        lines += _table(["variant", "run", "diverged at step"], diverged_rows)
    else:
        lines.append("No run diverged.")
    diagnostics = [
        [c["label"], name, _spread(stats)] for c in cells for name, stats in c["diagnostics"]["scalars"].items()
    ]
    lines += ["", *_retention_table(cells)]
    lines += ["", "## Diagnostics (mean ± std over seeds)", ""]
    lines += _table(["variant", "diagnostic", "value"], diagnostics) if diagnostics else ["No run has diagnostics."]
    lines += ["", "## Figures", ""]
    lines += [f"![{name}]({path.name})" for name, path in images.items()]
    timing = comparison["timing"]
    total = sum(t["seconds"] for t in timing.values())
    cpu = sum(t["cpu_seconds"] for t in timing.values())
    lines += [
        "",
        "## Time",
        "",
        f"{len(timing)} runs: {total / 60:.1f} min wall, {cpu / 60:.1f} min CPU "
        "(sum over runs, of the session that finished each run).",
        "",
    ]
    return "\n".join(lines)
