"""The evaluation job: stream a split whole through a run's ``model.keras`` and score it.

Outputs go to ``<run>/evaluation/<split>/`` (see ``docs/evaluation.md``); the run's
``metrics.json`` gains an ``evaluation`` entry pointing at them with the headline numbers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from eegseq.data.labels import window_labels
from eegseq.data.manifest import events_path_for, read_events
from eegseq.evaluation import EvaluationSet, WindowPredictions, evaluate, with_baseline, write_outputs
from eegseq.evaluation.baseline import BaselineUnavailable
from eegseq.evaluation.splits import split_summary
from eegseq.files import atomic_write_json, remove_stale_temporaries
from eegseq.models import StreamModel
from eegseq.pipelines.baseline import baseline_predictions
from eegseq.pipelines.config import JobConfig, load_config
from eegseq.pipelines.ingest import run_ingest
from eegseq.pipelines.plan import ModelGeometry, RunPlan
from eegseq.pipelines.predict import predict_split
from eegseq.pipelines.run_dir import MODEL_FILE, load_model_file, locked

log = logging.getLogger(__name__)

SEIZURE_PREFIX = "sz"
BASELINE_DESCRIPTION = (
    "per-channel line length, variance and log band powers (delta to gamma) with their mean, std and max "
    "over channels -> scikit-learn HistGradientBoostingClassifier, trained on the train split's windows"
)


def evaluate_job(run_dir: Path, split: str, config: JobConfig | None = None) -> Path:
    """Evaluate ``run_dir/model.keras`` on ``split``; returns the output folder.

    ``config`` defaults to the run's own resolved ``config.yaml``. The run directory is locked
    while its evaluation files are written.
    """
    model = StreamModel(load_model_file(run_dir / MODEL_FILE))
    with locked(run_dir):
        remove_stale_temporaries(run_dir / "evaluation", recursive=True)  # left by a killed evaluation
        return _evaluate(model, run_dir, split, config)


def _evaluate(model: StreamModel, run_dir: Path, split: str, config: JobConfig | None) -> Path:
    if config is None:
        config = load_config(run_dir / "config.yaml")
    data = run_ingest(config.data, progress=False)
    plan = RunPlan.build(config, data, geometry=ModelGeometry.of_model(model))
    needs_validation = config.evaluation.threshold_method != "fixed"
    plan.validate((split, "val") if needs_validation else (split,), trains=False)
    durations = {row.id: row.n_samples / row.sfreq for row in data.rows}
    events = read_events(events_path_for(data.manifest))

    def seizures(rid: str) -> np.ndarray:
        return np.array([(e.onset, e.duration) for e in events.get(rid, []) if e.label.startswith(SEIZURE_PREFIX)])

    def evaluation_set(predictions: WindowPredictions) -> EvaluationSet:
        ids = set(predictions.recording.tolist())
        return EvaluationSet(predictions, {rid: durations[rid] for rid in ids}, {rid: seizures(rid) for rid in ids})

    others = {} if split == "train" else {"train": _train_summary(plan, durations, seizures, events)}
    # The threshold rule needs the validation split unless it is fixed.
    scored = list(dict.fromkeys([split, "val"])) if needs_validation else [split]
    sets = {name: evaluation_set(predict_split(model, plan, name)) for name in scored}
    dataset = sets[split]
    result = evaluate(dataset, config.evaluation, validation=sets.get("val"), split=split, other_splits=others)
    if config.evaluation.baseline == "features":
        try:
            baseline = baseline_predictions(plan, scored)
        except BaselineUnavailable as why:
            warning = f"baseline not evaluated: {why}"
            log.warning("evaluation of split %r: %s", split, warning)
            result = replace(result, metrics={**result.metrics, "warnings": [*result.metrics["warnings"], warning]})
        else:
            baseline_sets = {name: evaluation_set(predictions) for name, predictions in baseline.items()}
            baseline_result = evaluate(
                baseline_sets[split],
                config.evaluation,
                validation=baseline_sets.get("val"),
                split=split,
                other_splits=others,
            )
            result = with_baseline(result, baseline_result, BASELINE_DESCRIPTION)
    out = run_dir / "evaluation" / split
    write_outputs(out, dataset, result)
    _record(run_dir / "metrics.json", split, out)
    return out


def _train_summary(plan: RunPlan, durations: dict, seizures, events: dict) -> dict:
    """Counts of the training split for the report; window labels from the stored events (no samples read)."""
    rows = plan.rows("train")
    stream = plan.stream
    labels = [
        window_labels(stream.labels, events.get(r.id, []), r.label, r.sfreq, r.n_samples, stream.window) for r in rows
    ]
    return split_summary(
        {row.id: row.subject for row in rows},
        durations,
        {row.id: seizures(row.id) for row in rows},
        np.concatenate(labels),
    )


def _record(metrics_path: Path, split: str, out: Path) -> None:
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    evaluated = json.loads((out / "metrics.json").read_text())
    metrics.setdefault("evaluation", {})[split] = {
        "metrics": str(out.relative_to(metrics_path.parent) / "metrics.json"),
        "headline": {name: entry["value"] for name, entry in evaluated["headline"].items()},
    }
    atomic_write_json(metrics_path, metrics)
