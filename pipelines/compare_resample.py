"""A run's test evaluation as per-recording parts, scored fast on any resample of recordings.

The comparison's bootstrap scores every run on thousands of resamples; the evaluation's
scikit-learn path costs about 0.2 s per resample, so the four compared metrics are computed here
from per-recording parts: window ROC-AUC and recording ROC-AUC as the Mann-Whitney statistic (ties
count one half, as ``sklearn.metrics.roc_auc_score``), event F1 and false positives per 24 h from
the summed counts of SzCORE's scorer by its own formulas (:class:`ScoreCounts`). Built from a run's
``evaluation/test/`` files and checked against the headline recorded there.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from eegseq.evaluation import EvaluationConfig, EvaluationSet, WindowPredictions, evaluate
from eegseq.evaluation.event_scoring import ANNOTATION_FS, ScoreCounts, score_recording, sum_counts
from eegseq.evaluation.tables import read_predictions_csv
from eegseq.pipelines.compare_stats import HEADLINE


def roc_auc(labels: NDArray, scores: NDArray) -> float:
    """Probability that a positive (label 1) scores above a negative (label 0), ties counting one half;
    unlabelled entries (-1) are left out; NaN without both classes."""
    known = labels >= 0
    labels, scores = labels[known], scores[known]
    positive = labels == 1
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    if n_positive == 0 or n_negative == 0:
        return math.nan
    ranks = rankdata(scores)  # average ranks of ties
    return float((ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


@dataclass(frozen=True)
class RunScores:
    """Per test recording (in ``recordings`` order) of one run: windows, recording score, event counts."""

    recordings: list[str]
    window_labels: list[NDArray[np.int8]]
    window_probabilities: list[NDArray[np.float64]]
    recording_labels: NDArray[np.int8]
    recording_scores: NDArray[np.float64]
    event_counts: list[ScoreCounts]

    def headline(self, chosen: NDArray[np.intp]) -> dict[str, float]:
        """The compared metrics on recordings ``chosen`` (indices, repeats allowed); NaN where undefined."""
        labels = np.concatenate([self.window_labels[i] for i in chosen])
        probabilities = np.concatenate([self.window_probabilities[i] for i in chosen])
        events, _ = sum_counts((self.event_counts[i] for i in chosen), ANNOTATION_FS).scores()
        return {
            "window_roc_auc": roc_auc(labels, probabilities),
            "recording_roc_auc": roc_auc(self.recording_labels[chosen], self.recording_scores[chosen]),
            "event_f1": math.nan if events["f1"] is None else events["f1"],
            "event_fp_per_24h": math.nan if events["fp_per_24h"] is None else events["fp_per_24h"],
        }

    @classmethod
    def load(cls, evaluation_dir: Path) -> RunScores:
        """Rebuild from ``predictions.csv`` and ``metrics.json`` (the evaluation at its recorded thresholds).

        Raises ValueError when the rebuilt metrics differ from the recorded headline (files of another
        version, or edited).
        """
        metrics = json.loads((evaluation_dir / "metrics.json").read_text())
        columns = read_predictions_csv(evaluation_dir / "predictions.csv")
        per_recording = {row["recording"]: row for row in metrics["per_recording"]}
        reference: dict[str, list] = {}
        for seizure in metrics["event"]["latency"]["per_seizure"]:
            reference.setdefault(seizure["recording"], []).append((seizure["onset_s"], seizure["duration_s"]))
        data = EvaluationSet(
            WindowPredictions(
                recording=columns["recording"],
                patient=[per_recording[rid]["patient"] for rid in columns["recording"]],
                start_s=columns["start"],
                end_s=columns["end"],
                probability=columns["probability"],
                label=columns["label"],
            ),
            {rid: row["duration_s"] for rid, row in per_recording.items()},
            reference,
        )
        config = EvaluationConfig.model_validate(metrics["config"]).model_copy(
            update={
                "threshold_method": "fixed",
                "fixed_threshold": metrics["threshold"]["window"],
                "event_threshold": metrics["threshold"]["event"],
                "bootstrap_resamples": 0,
            }
        )
        result = evaluate(data, config)  # detections at the recorded thresholds
        rows_of = data.predictions.indices_by_recording()
        score_of = dict(zip(result.recording_scores.recording.tolist(), result.recording_scores.score))
        label_of = dict(zip(result.recording_scores.recording.tolist(), result.recording_scores.label))
        scores = cls(
            recordings=list(data.recordings),
            window_labels=[data.predictions.label[rows_of[rid]] for rid in data.recordings],
            window_probabilities=[data.predictions.probability[rows_of[rid]] for rid in data.recordings],
            recording_labels=np.array([label_of[rid] for rid in data.recordings], dtype=np.int8),
            recording_scores=np.array([score_of[rid] for rid in data.recordings]),
            event_counts=[
                score_recording(
                    data.reference_events[rid], result.detected_events[rid], data.recording_durations_s[rid], config
                )[0]
                for rid in data.recordings
            ],
        )
        rebuilt = scores.headline(np.arange(len(data.recordings)))
        for name in HEADLINE:
            recorded = metrics["headline"][name]["value"]
            value = rebuilt[name]
            if (recorded is None) != math.isnan(value) or (
                recorded is not None and not math.isclose(recorded, value, rel_tol=1e-9, abs_tol=1e-12)
            ):
                raise ValueError(
                    f"{evaluation_dir}: {name} rebuilt from predictions.csv is {value}, recorded {recorded}"
                )
        return scores
