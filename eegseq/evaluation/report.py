"""``report.md``: the metrics of ``metrics.json`` as a human-readable Markdown page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_HEADLINE_LABELS = {
    "window_roc_auc": "Window ROC-AUC",
    "window_pr_auc": "Window PR-AUC (average precision)",
    "window_sensitivity": "Window sensitivity",
    "window_specificity": "Window specificity",
    "recording_roc_auc": "Recording ROC-AUC",
    "event_sensitivity": "Event sensitivity (SzCORE)",
    "event_precision": "Event precision (SzCORE)",
    "event_f1": "Event F1 (SzCORE)",
    "event_fp_per_24h": "False positives per 24 h (SzCORE)",
}


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_number(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines + [""]


def _undefined(section: str, undefined: Mapping[str, str]) -> list[str]:
    return [f"- {section} `{name}` is undefined: {why}." for name, why in sorted(undefined.items())]


def _baseline_section(metrics: Mapping[str, Any], level: int) -> list[str]:
    """Model and baseline side by side: headline metrics with intervals, and each one's threshold."""
    baseline = metrics["baseline"]
    lines = [
        "## Model and baseline",
        "",
        f"Baseline: {baseline['description']}. Same windows, same threshold rule (chosen on its own validation "
        f"predictions: {baseline['threshold']['window']:.4f}; why: {baseline['threshold']['reason']}).",
        "",
    ]

    def interval(item: Mapping[str, Any]) -> str:
        if item["low"] is None:
            return "n/a"
        return f"{_number(item['low'])}-{_number(item['high'])}"

    rows = [
        (
            _HEADLINE_LABELS[name],
            _number(item["value"]),
            interval(item),
            _number(baseline["headline"][name]["value"]),
            interval(baseline["headline"][name]),
        )
        for name, item in metrics["headline"].items()
    ]
    return lines + _table(("metric", "model", f"model {level}% CI", "baseline", f"baseline {level}% CI"), rows)


def render_report(metrics: Mapping[str, Any], files: Mapping[str, str]) -> str:
    """Markdown text of the report.

    Args:
        metrics: content of ``metrics.json`` (see ``docs/evaluation.md``).
        files: output name -> path relative to the report (plots and tables to link).
    """
    threshold, window, recording, event = (metrics[k] for k in ("threshold", "window", "recording", "event"))
    boot = metrics["bootstrap"]
    level = int(round(boot["confidence_level"] * 100))
    lines = [
        f"# Evaluation of split `{metrics['split']}`",
        "",
        f"metrics.json schema {metrics['schema_version']}. Window threshold {threshold['window']:.4f} "
        f"({threshold['method']}, chosen on {threshold['chosen_on']}); event threshold {threshold['event']:.4f}. "
        f"Why: {threshold['reason']}.",
        "",
    ]
    if metrics["warnings"]:
        lines += ["## Warnings", ""] + [f"- **{warning}**" for warning in metrics["warnings"]] + [""]
    lines += ["## Data", ""]
    lines += _table(
        (
            "split",
            "subjects",
            "recordings",
            "hours",
            "seizures",
            "subjects with seizures",
            "windows",
            "positive windows",
            "unlabelled windows",
        ),
        [
            (
                name,
                s["subjects"],
                s["recordings"],
                s["hours"],
                s["seizures"],
                s["subjects_with_seizures"],
                s["windows"],
                s["positive_windows"],
                s["unlabelled_windows"],
            )
            for name, s in metrics["splits"].items()
        ],
    )
    lines += [
        "## Headline",
        "",
        f"{level}% percentile bootstrap intervals over {boot['unit']}s, {boot['n_resamples']} resamples, "
        f"seed {boot['seed']}.",
        "",
    ]
    lines += _table(
        ("metric", "value", f"{level}% CI low", f"{level}% CI high"),
        [
            (_HEADLINE_LABELS[name], item["value"], item["low"], item["high"])
            for name, item in metrics["headline"].items()
        ],
    )
    if "baseline" in metrics:
        lines += _baseline_section(metrics, level)
    cm = window["confusion_matrix"]
    lines += ["## Window level", ""]
    lines += _table(
        (
            "windows",
            "positive",
            "ROC-AUC",
            "PR-AUC",
            "sensitivity",
            "specificity",
            "precision",
            "F1",
            "balanced accuracy",
            "Brier",
        ),
        [
            (
                window["n_windows"],
                window["n_positive"],
                window["roc_auc"],
                window["pr_auc"],
                window["sensitivity"],
                window["specificity"],
                window["precision"],
                window["f1"],
                window["balanced_accuracy"],
                window["brier"],
            )
        ],
    )
    lines += _table(
        ("", "predicted no seizure", "predicted seizure"),
        [("reference no seizure", cm["tn"], cm["fp"]), ("reference seizure", cm["fn"], cm["tp"])],
    )
    lines += ["## Recording level", "", f"Aggregation `{recording['aggregation']}` (top_k {recording['top_k']})."]
    lines += [""] + _table(
        ("recordings", "positive", "ROC-AUC", "PR-AUC"),
        [(recording["n_recordings"], recording["n_positive"], recording["roc_auc"], recording["pr_auc"])],
    )
    lines += ["## Event level (SzCORE, timescoring 0.0.7)", ""]
    rows = []
    for name in ("event_scoring", "sample_scoring"):
        block = event[name]
        rows.append(
            (
                name.replace("_", " "),
                block["tp"],
                block["fp"],
                block["ref_true"],
                block["sensitivity"],
                block["precision"],
                block["f1"],
                block["fp_per_24h"],
            )
        )
    lines += _table(("scoring", "TP", "FP", "reference", "sensitivity", "precision", "F1", "FP/24h"), rows)
    latency = event["latency"]
    lines += [
        f"Detected {latency['n_detected']} of {latency['n_reference']} reference seizures; latency (s) "
        f"median {_number(latency['median_s'], 1)}, mean {_number(latency['mean_s'], 1)}, "
        f"min {_number(latency['min_s'], 1)}, max {_number(latency['max_s'], 1)}.",
        "",
        "## Per patient",
        "",
    ]
    lines += _table(
        (
            "patient",
            "recordings",
            "hours",
            "seizures",
            "detections",
            "window ROC-AUC",
            "recording ROC-AUC",
            "event sensitivity",
            "event precision",
            "event F1",
            "FP/24h",
            "median latency (s)",
        ),
        [
            (
                p["patient"],
                p["n_recordings"],
                p["hours"],
                p["n_reference_events"],
                p["n_detected_events"],
                p["window_roc_auc"],
                p["recording_roc_auc"],
                p["event_sensitivity"],
                p["event_precision"],
                p["event_f1"],
                p["event_fp_per_24h"],
                p["median_latency_s"],
            )
            for p in metrics["per_patient"]
        ],
    )
    notes = _undefined("window", window["undefined"]) + _undefined("recording", recording["undefined"])
    notes += _undefined("event scoring", event["event_scoring"]["undefined"])
    notes += _undefined("sample scoring", event["sample_scoring"]["undefined"])
    if notes:
        lines += ["## Undefined metrics", ""] + notes + [""]
    lines += ["## Files", ""] + [f"- [{name}]({path})" for name, path in files.items()]
    lines += [""] + [f"![{name}]({path})" for name, path in files.items() if path.endswith(".png")]
    return "\n".join(lines) + "\n"
