"""The feature baseline of an evaluation: trained on the run's training windows, scored like the model.

It plays the same stores through the same lane streamer as the model (same windows, labels
and validity), without left context and without normalisation (features are in µV), and
collects its probabilities in :class:`~eegseq.pipelines.predict.ScoredWindows` as the model
does, so the evaluation treats both alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from eegseq.data.streamer import LaneStreamer
from eegseq.evaluation import WindowPredictions
from eegseq.evaluation.baseline import fit_baseline, window_features
from eegseq.pipelines.plan import RunPlan
from eegseq.pipelines.predict import ScoredWindows


def _featured_batches(plan: RunPlan, split: str) -> Iterator[tuple[dict, np.ndarray, np.ndarray]]:
    """``(batch, scored lanes, their features (n_lanes, n_features))`` of each batch of ``split``."""
    streamer = LaneStreamer(plan.stores(split), plan.stream.model_copy(update={"context": 0}), stats=None)
    for batch in streamer.batches(epochs=1):
        lanes = ScoredWindows.scored_lanes(batch)
        if lanes.size:
            yield batch, lanes, window_features(batch["signal"][lanes], plan.sfreq)


def baseline_predictions(plan: RunPlan, splits: list[str]) -> dict[str, WindowPredictions]:
    """Fit the feature baseline on the labelled scored windows of the training split; score ``splits``.

    Raises:
        eegseq.evaluation.baseline.BaselineUnavailable: the training windows lack a class.
    """
    features, labels = [], []
    for batch, lanes, batch_features in _featured_batches(plan, "train"):
        features.append(batch_features)
        labels.append(batch["label"][lanes])
    features, labels = np.concatenate(features), np.concatenate(labels)
    labelled = labels >= 0
    classifier = fit_baseline(features[labelled], labels[labelled], plan.config.train.seed)
    predictions = {}
    for split in splits:
        windows, features = ScoredWindows(plan, split), []
        for batch, lanes, batch_features in _featured_batches(plan, split):
            windows.add(batch, lanes, np.full(lanes.size, np.nan))
            features.append(batch_features)
        # One call per split: each call of the classifier costs ~0.1 s of thread start-up.
        predictions[split] = windows.predictions(classifier.predict_proba(np.concatenate(features))[:, 1])
    return predictions
