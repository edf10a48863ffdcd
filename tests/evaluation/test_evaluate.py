"""End-to-end evaluation against independent references, and the degenerate splits."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from timescoring import scoring
from timescoring.annotations import Annotation

from eegseq.evaluation import EvaluationConfig, EvaluationSet, WindowPredictions, evaluate
from eegseq.evaluation.tables import write_metrics_json


def test_metrics_match_independent_references(test_set, validation_set):
    config = EvaluationConfig(aggregation="top_k_mean", top_k=5, bootstrap_resamples=0)
    result = evaluate(test_set, config, validation=validation_set)
    m = result.metrics
    p = test_set.predictions
    assert m["window"]["roc_auc"] == pytest.approx(roc_auc_score(p.label, p.probability))
    assert m["threshold"]["chosen_on"] == "validation"

    # Recording level: top-5 mean and "any positive window" per recording, with plain NumPy.
    scores, labels = [], []
    for rid in test_set.recordings:
        mine = p.recording == rid
        scores.append(np.sort(p.probability[mine])[-5:].mean())
        labels.append(p.label[mine].max())
    assert m["recording"]["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))

    # Event level: timescoring called directly on each recording (events at 10 Hz), counts summed.
    tp = fp = ref_true = 0
    for rid in test_set.recordings:
        n = int(round(test_set.recording_durations_s[rid] * 10))
        ref = Annotation([(o, o + d) for o, d in test_set.reference_events[rid]], 10, n)
        hyp = Annotation([(o, o + d) for o, d in result.detected_events[rid]], 10, n)
        score = scoring.EventScoring(ref, hyp, scoring.EventScoring.Parameters())
        tp, fp, ref_true = tp + score.tp, fp + score.fp, ref_true + score.refTrue
    event = m["event"]["event_scoring"]
    assert (event["tp"], event["fp"], event["ref_true"]) == (tp, fp, ref_true)
    hours = len(test_set.recordings) * 1200 / 3600
    assert event["fp_per_24h"] == pytest.approx(fp / hours * 24)
    assert m["headline"]["event_f1"]["value"] == event["f1"]
    assert m["headline"]["window_roc_auc"]["low"] is None  # no bootstrap asked

    # Per-patient rows cover every recording once.
    assert sum(row["n_recordings"] for row in m["per_patient"]) == len(test_set.recordings)


def test_threshold_needs_validation_unless_fixed(test_set):
    with pytest.raises(ValueError, match="validation"):
        evaluate(test_set, EvaluationConfig(bootstrap_resamples=0))
    result = evaluate(test_set, EvaluationConfig(threshold_method="fixed", fixed_threshold=0.8, bootstrap_resamples=0))
    assert result.threshold == 0.8 and result.metrics["threshold"]["chosen_on"] == "config"


def test_event_threshold_overrides_window_threshold(test_set):
    config = EvaluationConfig(threshold_method="fixed", event_threshold=1.0, bootstrap_resamples=0)
    result = evaluate(test_set, config)
    assert result.event_threshold == 1.0 and result.threshold == 0.5
    # Seizure windows are 0.5 + 0.7 * U[0, 1) clipped at 1, so some sit exactly at 1.0. Every
    # such window lies inside a detection, and every detection starts at such a window.
    p = test_set.predictions
    for rid, events in result.detected_events.items():
        at_one = (p.recording == rid) & (p.probability >= 1.0)
        for start, end in zip(p.start_s[at_one], p.end_s[at_one]):
            assert np.any((events[:, 0] <= start) & (events.sum(axis=1) >= end))
        assert set(events[:, 0]) <= set(p.start_s[at_one])
    default = evaluate(test_set, config.model_copy(update={"event_threshold": None}))
    assert default.metrics["event"]["n_detected"] > result.metrics["event"]["n_detected"] > 0


def test_split_without_positive_recording_reports_null(tmp_path, make_split):
    negatives = make_split(seed=4, n_recordings=3, with_seizures=False)
    config = EvaluationConfig(threshold_method="fixed", bootstrap_resamples=20)
    m = evaluate(negatives, config).metrics
    assert m["window"]["roc_auc"] is None and m["window"]["undefined"]["roc_auc"] == "no positive windows"
    assert m["recording"]["roc_auc"] is None
    assert m["recording"]["undefined"]["roc_auc"] == "no positive recordings"
    assert m["headline"]["recording_roc_auc"] == {"value": None, "low": None, "high": None, "n_valid": 0}
    assert m["event"]["event_scoring"]["sensitivity"] is None
    assert m["event"]["event_scoring"]["undefined"]["sensitivity"] == "no reference events"
    # JSON has nulls, never NaN.
    text = write_metrics_json(m, tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and '"roc_auc": null' in text


def test_split_without_negative_window_reports_null(make_split):
    data = make_split(seed=5, n_recordings=2)
    only_seizure = data.predictions.label == 1
    positives = EvaluationSet(
        data.predictions.take(np.flatnonzero(only_seizure)), data.recording_durations_s, data.reference_events
    )
    m = evaluate(positives, EvaluationConfig(threshold_method="fixed", bootstrap_resamples=0)).metrics
    assert m["window"]["roc_auc"] is None and m["window"]["undefined"]["roc_auc"] == "no negative windows"


def test_unlabelled_windows_count_in_events_but_not_in_window_metrics(test_set):
    p = test_set.predictions
    # Ten background windows become unlabelled (-1) and certain (probability 1).
    chosen = np.flatnonzero(p.label == 0)[::97][:10]
    label, probability = p.label.copy(), p.probability.copy()
    label[chosen], probability[chosen] = -1, 1.0
    marked = EvaluationSet(
        WindowPredictions(p.recording, p.patient, p.start_s, p.end_s, probability, label),
        test_set.recording_durations_s,
        test_set.reference_events,
    )
    config = EvaluationConfig(threshold_method="fixed", fixed_threshold=0.9, bootstrap_resamples=0)
    m = evaluate(marked, config).metrics
    kept = label >= 0
    assert m["window"]["n_windows"] == kept.sum() == p.label.size - 10
    assert m["window"]["roc_auc"] == pytest.approx(roc_auc_score(label[kept], probability[kept]))
    assert m["headline"]["window_roc_auc"]["value"] == m["window"]["roc_auc"]
    assert m["splits"]["test"]["unlabelled_windows"] == 10
    # Still streamed to the detector: each certain window lies inside a detected event.
    detected = evaluate(marked, config).detected_events
    for i in chosen:
        events = detected[str(p.recording[i])]
        assert np.any((events[:, 0] <= p.start_s[i]) & (events.sum(axis=1) >= p.end_s[i]))
