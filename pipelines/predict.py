"""Stream every recording of a split whole through a model in inference mode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from eegseq.data.streamer import LaneStreamer
from eegseq.models import StreamModel
from eegseq.pipelines.plan import RunPlan


@dataclass(frozen=True)
class WindowTable:
    """Per-window predictions of a split, sorted by recording then time.

    Attributes (all ``(n_windows,)``): ``recording`` ids, ``start``/``end`` seconds,
    ``probability`` of the positive class, ``label`` (-1 = none), ``valid`` (0/1).
    """

    recording: np.ndarray
    start: np.ndarray
    end: np.ndarray
    probability: np.ndarray
    label: np.ndarray
    valid: np.ndarray


def predict_split(model: StreamModel, plan: RunPlan, split: str) -> WindowTable:
    """Play the recordings of ``split`` once on the plan's lanes, carrying state, and collect window probabilities."""
    stream = plan.stream
    streamer = LaneStreamer(plan.stores(split), stream, plan.stats)
    sfreq = {r.id: r.sfreq for r in streamer.recordings}
    infer = tf.function(lambda signal, reset, keys, state: model(signal, reset, keys, state, training=False))
    state = model.initial_state(stream.lanes)
    keys = tf.zeros((stream.lanes,), tf.int64)  # no masks act at inference
    rows = []
    for batch in streamer.batches(epochs=1):
        logits, _, state = infer(batch["signal"], batch["reset"], keys, state)
        probabilities = tf.sigmoid(logits[:, 0]).numpy()
        for lane, rid in enumerate(batch["recording_id"]):
            if rid:
                rid = rid.decode()
                start = batch["start"][lane] / sfreq[rid]
                rows.append(
                    (
                        rid,
                        start,
                        start + batch["length"][lane] / sfreq[rid],
                        probabilities[lane],
                        batch["label"][lane],
                        batch["valid"][lane],
                    )
                )
    rows.sort(key=lambda row: (row[0], row[1]))
    columns = list(zip(*rows))
    return WindowTable(
        recording=np.array(columns[0], dtype=object),
        start=np.array(columns[1], np.float64),
        end=np.array(columns[2], np.float64),
        probability=np.array(columns[3], np.float64),
        label=np.array(columns[4], np.int64),
        valid=np.array(columns[5], np.float64),
    )
