"""Stream every recording of a split whole through a model in inference mode."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from eegseq.data.streamer import LaneStreamer
from eegseq.evaluation import WindowPredictions
from eegseq.models import StreamModel
from eegseq.pipelines.plan import RunPlan


class ScoredWindows:
    """The scored windows of one split's stream and a probability for each, gathered batch by batch.

    Scored windows are the valid windows of recordings that have labels: padding and
    drop-out-dominated windows are played for the state's sake but scored nowhere. Unlabelled
    windows (label -1, e.g. a seizure's unclear margin) of a labelled recording are kept: event
    detection needs every window's probability, and the evaluation leaves them out of window
    metrics. The model and the feature baseline both collect their probabilities here, so both
    are scored on the same windows.
    """

    def __init__(self, plan: RunPlan, split: str) -> None:
        self.sfreq = plan.sfreq
        self.patient = {row.id: row.subject for row in plan.rows(split)}
        self.rows: list[tuple[str, float, float, float, int]] = []

    @staticmethod
    def scored_lanes(batch: dict[str, np.ndarray]) -> np.ndarray:
        """Lanes of ``batch`` that hold a valid window (padding is never valid)."""
        return np.flatnonzero(batch["valid"] > 0)

    def add(self, batch: dict[str, np.ndarray], lanes: np.ndarray, probabilities: np.ndarray) -> None:
        """Record the windows of ``lanes`` of ``batch`` with their ``probabilities`` (same order)."""
        for lane, probability in zip(lanes, probabilities):
            rid = batch["recording_id"][lane].decode()
            start = batch["start"][lane] / self.sfreq
            end = start + batch["length"][lane] / self.sfreq
            self.rows.append((rid, start, end, float(probability), int(batch["label"][lane])))

    def predictions(self, probability: np.ndarray | None = None) -> WindowPredictions:
        """The windows of recordings with at least one labelled window, sorted by recording then time.

        ``probability``, shape ``(windows added,)`` in the order they were added, replaces the
        probabilities given to :meth:`add` (a classifier that scores a whole split at once).
        """
        rows = self.rows
        if probability is not None:
            rows = [(*row[:3], float(p), row[4]) for row, p in zip(rows, probability, strict=True)]
        labelled = {row[0] for row in rows if row[4] >= 0}
        rows = sorted((row for row in rows if row[0] in labelled), key=lambda row: (row[0], row[1]))
        recording, start, end, probability, label = (list(column) for column in zip(*rows)) if rows else ([],) * 5
        return WindowPredictions(
            recording=np.array(recording, dtype=str),
            patient=np.array([self.patient[rid] for rid in recording], dtype=str),
            start_s=np.array(start, np.float64),
            end_s=np.array(end, np.float64),
            probability=np.array(probability, np.float64),
            label=np.array(label, np.int8),
        )


def predict_split(model: StreamModel, plan: RunPlan, split: str) -> WindowPredictions:
    """Play the recordings of ``split`` once on the plan's lanes, carrying state, and collect the
    probabilities of its scored windows (:class:`ScoredWindows`), sorted by recording then time."""
    stream = plan.stream
    streamer = LaneStreamer(plan.stores(split), stream, plan.stats)
    infer = tf.function(lambda signal, reset, keys, state: model(signal, reset, keys, state, training=False))
    state = model.initial_state(stream.lanes)
    keys = tf.zeros((stream.lanes,), tf.int64)  # no masks act at inference
    windows = ScoredWindows(plan, split)
    for batch in streamer.batches(epochs=1):
        logits, _, state = infer(batch["signal"], batch["reset"], keys, state)
        lanes = windows.scored_lanes(batch)
        windows.add(batch, lanes, tf.sigmoid(logits[:, 0]).numpy()[lanes])
    return windows.predictions()
