"""Stream every recording of a split whole through a model in inference mode."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from eegseq.data.streamer import LaneStreamer
from eegseq.evaluation import WindowPredictions
from eegseq.models import StreamModel
from eegseq.pipelines.plan import RunPlan


def predict_split(model: StreamModel, plan: RunPlan, split: str) -> WindowPredictions:
    """Play the recordings of ``split`` once on the plan's lanes, carrying state, and collect the
    probabilities of its scored windows: valid and labelled (padding, drop-out-dominated and
    unlabelled windows are played for the state's sake but scored nowhere), sorted by recording
    then time."""
    stream = plan.stream
    streamer = LaneStreamer(plan.stores(split), stream, plan.stats)
    patient = {row.id: row.subject for row in plan.rows(split)}
    infer = tf.function(lambda signal, reset, keys, state: model(signal, reset, keys, state, training=False))
    state = model.initial_state(stream.lanes)
    keys = tf.zeros((stream.lanes,), tf.int64)  # no masks act at inference
    rows = []
    for batch in streamer.batches(epochs=1):
        logits, _, state = infer(batch["signal"], batch["reset"], keys, state)
        probabilities = tf.sigmoid(logits[:, 0]).numpy()
        scored = (batch["valid"] > 0) & (batch["label"] >= 0)  # padding is never valid
        for lane in np.flatnonzero(scored):
            rid = batch["recording_id"][lane].decode()
            start = batch["start"][lane] / plan.sfreq
            end = start + batch["length"][lane] / plan.sfreq
            rows.append((rid, start, end, probabilities[lane], batch["label"][lane]))
    rows.sort(key=lambda row: (row[0], row[1]))
    recording, start, end, probability, label = (list(column) for column in zip(*rows)) if rows else ([],) * 5
    return WindowPredictions(
        recording=np.array(recording, dtype=str),
        patient=np.array([patient[rid] for rid in recording], dtype=str),
        start_s=np.array(start, np.float64),
        end_s=np.array(end, np.float64),
        probability=np.array(probability, np.float64),
        label=np.array(label, np.int8),
    )
