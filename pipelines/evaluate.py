"""The evaluation job: stream a split whole through a run's ``model.keras`` and score it.

Outputs go to ``<run>/evaluation/<split>/`` (see ``docs/evaluation.md``); the run's
``metrics.json`` gains an ``evaluation`` entry pointing at them with the headline numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eegseq.data.manifest import events_path_for, read_events
from eegseq.evaluation import EvaluationSet, evaluate, write_outputs
from eegseq.files import atomic_write_json, remove_stale_temporaries
from eegseq.models import StreamModel
from eegseq.pipelines.config import JobConfig, load_config
from eegseq.pipelines.ingest import run_ingest
from eegseq.pipelines.plan import ModelGeometry, RunPlan
from eegseq.pipelines.predict import predict_split
from eegseq.pipelines.run_dir import MODEL_FILE, load_model_file, locked

SEIZURE_PREFIX = "sz"


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
    plan.validate((split, "val") if needs_validation else (split,))
    durations = {row.id: row.n_samples / row.sfreq for row in data.rows}
    events = read_events(events_path_for(data.manifest))

    def evaluation_set(name: str) -> EvaluationSet:
        predictions = predict_split(model, plan, name)
        ids = set(predictions.recording.tolist())
        reference = {
            rid: np.array([(e.onset, e.duration) for e in events.get(rid, []) if e.label.startswith(SEIZURE_PREFIX)])
            for rid in ids
        }
        return EvaluationSet(predictions, {rid: durations[rid] for rid in ids}, reference)

    dataset = evaluation_set(split)
    validation = evaluation_set("val") if needs_validation else None
    result = evaluate(dataset, config.evaluation, validation=validation, split=split)
    out = run_dir / "evaluation" / split
    write_outputs(out, dataset, result)
    _record(run_dir / "metrics.json", split, out)
    return out


def _record(metrics_path: Path, split: str, out: Path) -> None:
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    evaluated = json.loads((out / "metrics.json").read_text())
    metrics.setdefault("evaluation", {})[split] = {
        "metrics": str(out.relative_to(metrics_path.parent) / "metrics.json"),
        "headline": {name: entry["value"] for name, entry in evaluated["headline"].items()},
    }
    atomic_write_json(metrics_path, metrics)
