"""Output files: PNG plots that are not blank, metrics.json, predictions.csv, SzCORE events.tsv."""

import csv
import json
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from eegseq.evaluation import SCHEMA_VERSION, EvaluationConfig, evaluate, write_outputs
from eegseq.evaluation.tables import SZCORE_COLUMNS, events_tsv_path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = ("roc.png", "pr.png", "calibration.png", "confusion_matrix.png", "traces.png")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"


@pytest.fixture(scope="module")
def written(tmp_path_factory, test_set, validation_set):
    config = EvaluationConfig(bootstrap_resamples=20, trace_recordings=3)
    result = evaluate(test_set, config, validation=validation_set)
    directory = tmp_path_factory.mktemp("run") / "evaluation"
    return directory, write_outputs(directory, test_set, result), result


def _assert_png_not_blank(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.var() > 0
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 2


@pytest.mark.parametrize("name", PLOTS)
def test_plots_are_valid_non_blank_pngs(written, name):
    directory, paths, _ = written
    assert paths[name] == directory / name
    _assert_png_not_blank(directory / name)


def test_plots_of_a_split_without_seizures(tmp_path, make_split):
    negatives = make_split(seed=9, n_recordings=2, with_seizures=False)
    result = evaluate(negatives, EvaluationConfig(threshold_method="fixed", bootstrap_resamples=0))
    paths = write_outputs(tmp_path, negatives, result)
    for name in PLOTS:
        _assert_png_not_blank(paths[name])
    assert "no positive windows" in paths["report.md"].read_text()


def test_metrics_json_is_versioned_and_documented(written):
    directory, _, result = written
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["schema_version"] == SCHEMA_VERSION
    assert metrics == json.loads(json.dumps(result.metrics))
    documented = set(re.findall(r"`([a-z_0-9]+)`", DOCS.read_text()))
    nested = [
        metrics,
        metrics["window"],
        metrics["recording"],
        metrics["event"],
        metrics["event"]["event_scoring"],
        metrics["event"]["latency"],
        metrics["per_patient"][0],
        metrics["per_recording"][0],
    ]
    missing = {key for block in nested for key in block if key not in documented}
    assert not missing, f"keys of metrics.json not documented in docs/evaluation.md: {sorted(missing)}"


def test_predictions_csv_round_trips(written, test_set):
    directory, _, _ = written
    with open(directory / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["recording", "start", "end", "probability", "label"]
    assert len(rows) == len(test_set.predictions)
    p = test_set.predictions
    first = np.flatnonzero((p.recording == rows[0]["recording"]) & (p.start_s == float(rows[0]["start"])))[0]
    assert float(rows[0]["probability"]) == p.probability[first]
    assert float(rows[0]["end"]) == p.end_s[first]
    assert int(rows[0]["label"]) == p.label[first]


def test_events_tsv_follow_szcore_layout(written, test_set):
    directory, paths, result = written
    for rid in test_set.recordings:
        path = events_tsv_path(paths["events"], rid)
        subject = rid.split("_")[0]
        assert path == directory / "events" / subject / "ses-01" / "eeg" / f"{rid}_events.tsv"
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        assert tuple(rows[0]) == SZCORE_COLUMNS
        detected = result.detected_events[rid]
        if detected.size:
            assert [r["eventType"] for r in rows] == ["sz"] * detected.shape[0]
            assert [float(r["onset"]) for r in rows] == pytest.approx(detected[:, 0].tolist(), abs=1e-3)
            assert [float(r["duration"]) for r in rows] == pytest.approx(detected[:, 1].tolist(), abs=1e-3)
        else:
            assert [(r["eventType"], float(r["onset"]), float(r["duration"])) for r in rows] == [("bckg", 0.0, 1200.0)]
        assert {r["recordingDuration"] for r in rows} == {"1200.000"}


def test_events_tsv_for_plain_ids_and_unsafe_ids(tmp_path):
    assert events_tsv_path(tmp_path, "chb01_03") == tmp_path / "chb01_03_events.tsv"
    with pytest.raises(ValueError, match="file name"):
        events_tsv_path(tmp_path, "../outside")


def test_report_links_outputs_and_no_temporary_files_remain(written):
    directory, _, _ = written
    report = (directory / "report.md").read_text()
    for name in (*PLOTS, "metrics.json", "predictions.csv"):
        assert f"]({name})" in report
    assert "95% CI" in report
    assert not [p for p in directory.rglob("*") if ".tmp" in p.name]
