"""The comparison report merged from hand-made job folders: numbers, diverged runs, missing jobs."""

import csv
import io
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from smoke_cli import REPO

from eegseq.evaluation import EvaluationConfig, EvaluationSet, WindowPredictions, evaluate
from eegseq.evaluation.tables import write_metrics_json, write_predictions_csv
from eegseq.pipelines.compare_grid import grid
from eegseq.pipelines.compare_report import merge_report
from eegseq.pipelines.compare_run import STATUS_FILE, job_dir
from eegseq.pipelines.config import load_config
from eegseq.pipelines.errors import Refused

SMOKE = REPO / "configs" / "compare_smoke.yaml"
WINDOW_S, N_WINDOWS = 10.0, 60  # 10-minute recordings


def _evaluation_set(separation: float, seed: int) -> EvaluationSet:
    """6 recordings; recordings 0, 2, 4 hold a seizure over windows 20-29. Probabilities: noise, plus
    ``separation`` on seizure windows (1.0 separates them perfectly)."""
    rng = np.random.default_rng(seed)
    columns = {k: [] for k in ("recording", "patient", "start_s", "end_s", "probability", "label")}
    events = {}
    for r in range(6):
        rid = f"rec{r}"
        label = np.zeros(N_WINDOWS, int)
        if r % 2 == 0:
            label[20:30] = 1
            events[rid] = [[200.0, 100.0]]
        starts = np.arange(N_WINDOWS) * WINDOW_S
        columns["recording"] += [rid] * N_WINDOWS
        columns["patient"] += [f"p{r // 2}"] * N_WINDOWS
        columns["start_s"] += starts.tolist()
        columns["end_s"] += (starts + WINDOW_S).tolist()
        columns["probability"] += ((1 - separation) * rng.random(N_WINDOWS) * 0.9 + separation * label * 0.9).tolist()
        columns["label"] += label.tolist()
    return EvaluationSet(WindowPredictions(**columns), {f"rec{r}": N_WINDOWS * WINDOW_S for r in range(6)}, events)


def _diagnostics(seed):
    """diagnostics.json as the diagnostics job writes it (abridged), with numbers that depend on the seed."""
    return {
        "schema": "eegseq.diagnostics/1",
        "run": {"implementation": "eegseq", "seed": seed, "recordings": ["rec0", "rec1"], "window_steps": 3},
        "stability": {"stopped": False, "reason": None, "step": None, "steps_completed": 20},
        "gradient_flow": {
            "loss": "window cross-entropy",
            "layers": {"rnn_0": {"lag_steps": [0, 1, 2], "dL_dh": [1.0, 0.5 + seed, 0.25], "dL_dh_ratio": 0.25}},
        },
        "memory_retention": {
            "separation_windows": [1, 3],
            "accuracy": [0.9, 0.5 + 0.25 * seed],
            "roc_auc": [1.0, None],
            "recordings": [4, 4],
            "threshold": 0.5,
        },
        "mask_changes": None,
    }


def _write_job(folder, job, status, separation=None, step=None):
    """A job folder as a finished (evaluated at a fixed threshold) or diverged run leaves it."""
    test = folder / "evaluation" / "test"
    test.mkdir(parents=True)
    if separation is not None:
        data = _evaluation_set(separation, seed=job.seed)
        result = evaluate(data, EvaluationConfig(threshold_method="fixed", fixed_threshold=0.5, bootstrap_resamples=0))
        write_metrics_json(result.metrics, test / "metrics.json")
        write_predictions_csv(data.predictions, test / "predictions.csv")
        (folder / "diagnostics").mkdir()
        (folder / "diagnostics" / "diagnostics.json").write_text(json.dumps(_diagnostics(job.seed)))
    history = io.StringIO()
    writer = csv.writer(history)
    writer.writerows([["epoch", "step", "train_loss", "val_auc"], [0, 10, 0.7, 0.6], [1, 20, 0.5, 0.8]])
    (folder / "history.csv").write_text(history.getvalue())
    record = {"job": job.name, "variant": job.variant.name, "rate": job.rate, "seed": job.seed, "status": status}
    record.update(diverged_at_step=step, reason="loss became nan" if step else None, seconds=1.0, cpu_seconds=2.0)
    (folder / STATUS_FILE).write_text(json.dumps(record))


@pytest.fixture
def comparison(tmp_path):
    """gal separates seizures perfectly; none is pure noise; gal's seed 1 diverged at step 17."""
    config = load_config(SMOKE, ["compare.seeds=2", "compare.variants=[gal]", "compare.bootstrap_resamples=300"])
    for job in grid(config.compare, config.train.seed):
        folder = job_dir(tmp_path, job)
        if job.variant.name == "gal" and job.seed == 1:
            _write_job(folder, job, "diverged", step=17)
        else:
            _write_job(folder, job, "finished", separation=1.0 if job.variant.name == "gal" else 0.0)
    report = merge_report(tmp_path, config)
    return tmp_path, report, json.loads((tmp_path / "comparison" / "comparison.json").read_text())


def test_diverged_run_is_reported_with_its_step_not_dropped(comparison):
    _, report, result = comparison
    gal = next(cell for cell in result["cells"] if cell["variant"] == "gal")
    assert gal["diverged"] == {"count": 1, "steps": [17]}
    assert [run["status"] for run in gal["runs"]] == ["finished", "diverged"]
    assert gal["headline"]["window_roc_auc"]["n"] == 1  # the mean is over the finished seed only
    assert "gal p=0.25: 1 of 2 seeds diverged (at steps 17)." in result["findings"]
    text = report.read_text()
    assert "| gal p=0.25 | gal-p0.25-s1 | 17 |" in text and "1/2" in text
    # the fixture's test split holds 3 seizures: each finished run's evaluation warned, the report says it once
    (warning,) = result["evaluation_warnings"]
    assert warning.startswith("split 'test' holds 3 seizures") and text.count(warning) == 1


def test_paired_difference_and_spread_against_an_independent_auc(comparison):
    run_dir, _, result = comparison
    none_aucs = [
        roc_auc_score(data.predictions.label, data.predictions.probability)
        for data in (_evaluation_set(0.0, seed) for seed in (0, 1))
    ]
    none = next(cell for cell in result["cells"] if cell["variant"] == "none")
    assert none["headline"]["window_roc_auc"]["mean"] == pytest.approx(np.mean(none_aucs))
    assert none["headline"]["window_roc_auc"]["std"] == pytest.approx(np.std(none_aucs, ddof=1))
    gal = next(cell for cell in result["cells"] if cell["variant"] == "gal")
    difference = gal["differences"]["none"]["window_roc_auc"]
    assert difference["difference"] == pytest.approx(1.0 - none_aucs[0])  # only seed 0 pairs
    assert 0 < difference["low"] <= difference["high"] <= 1  # a perfect detector against noise
    assert any(f.startswith("gal p=0.25 vs none, window_roc_auc: higher") for f in result["findings"])
    for name in ("report.md", "metric_spread.png", "differences.png", "learning_curves.png"):
        assert (run_dir / "comparison" / name).stat().st_size > 0
    assert none["learning_curves"]["val_auc"] == {"x": [0, 1], "mean": [0.6, 0.8], "std": [0.0, 0.0]}


def test_diagnostics_are_aggregated_over_seeds(comparison):
    _, report, result = comparison
    none = next(cell for cell in result["cells"] if cell["variant"] == "none")["diagnostics"]
    assert none["n_runs"] == 2
    flow = none["curves"]["gradient_flow.layers.rnn_0.dL_dh"]
    assert flow["x"] == [0, 1, 2] and flow["mean"] == [1.0, 1.0, 0.25]  # seeds 0, 1: 0.5 and 1.5 at lag 1
    assert flow["std"][1] == pytest.approx(np.std([0.5, 1.5], ddof=1))
    retention = none["curves"]["memory_retention.accuracy"]
    assert retention["x"] == [1, 3] and retention["mean"] == [0.9, 0.625]
    assert none["scalars"]["stability.steps_completed"] == {"mean": 20.0, "std": 0.0, "n": 2}
    assert not any(path.startswith("run.") for path in none["scalars"])  # what was measured is not a result
    assert "memory_retention.recordings" not in none["curves"]
    text = report.read_text()
    assert "gradient_flow.layers.rnn_0.dL_dh_ratio" in text
    spread = np.std([0.5, 0.75], ddof=1)
    # retention at separations 1 and 3 (ROC-AUC / accuracy); no ROC-AUC at 3
    assert f"| none | 1.000 ± 0.000 / 0.900 ± 0.000 | – / 0.625 ± {spread:.3f} |" in text
    assert (report.parent / "diagnostics.png").stat().st_size > 0


def test_merge_refuses_while_jobs_are_missing(tmp_path):
    config = load_config(SMOKE, ["compare.seeds=1", "compare.variants=[gal]"])
    jobs = grid(config.compare, config.train.seed)
    _write_job(job_dir(tmp_path, jobs[0]), jobs[0], "finished", separation=0.5)
    with pytest.raises(Refused, match=f"{len(jobs) - 1} of {len(jobs)} jobs are not done"):
        merge_report(tmp_path, config)


def test_event_metrics_are_left_out_where_windows_take_the_recordings_label(tmp_path):
    config = load_config(
        SMOKE,
        [
            "compare.seeds=1",
            "compare.variants=[gal]",
            "compare.bootstrap_resamples=50",
            "stream.labels.source=recording",
        ],
    )
    for job in grid(config.compare, config.train.seed):
        _write_job(job_dir(tmp_path, job), job, "finished", separation=0.5)
    text = merge_report(tmp_path, config).read_text()
    result = json.loads((tmp_path / "comparison" / "comparison.json").read_text())
    assert result["metrics"] == ["window_roc_auc", "recording_roc_auc"]
    assert all(set(cell["headline"]) == set(result["metrics"]) for cell in result["cells"])
    assert "event_f1" not in text and "Event metrics are not reported" in text
    assert not any("event_" in finding for finding in result["findings"])
