"""The unclear margin of a seizure: a window that only grazes it is unlabelled, carries no loss
and no window metric, and stays in the stream."""

import numpy as np
import pytest
import tensorflow as tf

from eegseq.data.labels import NO_LABEL, LabelRule, window_labels
from eegseq.data.recording import Event
from eegseq.evaluation import WindowPredictions
from eegseq.pipelines.train_step import loss_weights
from eegseq.pipelines.validation import validation_metrics

SFREQ, WINDOW = 10.0, 100  # 10-s windows of 100 samples


def test_window_labels_by_hand():
    # Seizure from 12 s to 38.5 s: window 1 (10-20 s) holds 8 s, window 2 (20-30 s) 10 s,
    # window 3 (30-40 s) 8.5 s; a second event 'sz_foc' covers 52-55 s of window 5: 3 s.
    events = [Event(onset=12.0, duration=26.5, label="sz"), Event(onset=52.0, duration=3.0, label="sz_foc")]
    rule = LabelRule(source="events", event_types=("sz",), min_overlap=0.5)
    labels = window_labels(rule, events, None, SFREQ, 700, WINDOW)
    assert labels.tolist() == [0, 1, 1, 1, 0, NO_LABEL, 0]
    # At 0.82 the 8-s windows fall in the margin; at 0 any overlap is a seizure window.
    strict = window_labels(rule.model_copy(update={"min_overlap": 0.82}), events, None, SFREQ, 700, WINDOW)
    assert strict.tolist() == [0, NO_LABEL, 1, 1, 0, NO_LABEL, 0]
    anything = window_labels(rule.model_copy(update={"min_overlap": 0.0}), events, None, SFREQ, 700, WINDOW)
    assert anything.tolist() == [0, 1, 1, 1, 0, 1, 0]


def test_an_unlabelled_window_carries_no_loss():
    label = tf.constant([1, 0, NO_LABEL, 0, 1], tf.int32)
    valid = tf.constant([1.0, 1.0, 1.0, 0.0, 1.0])
    weights = loss_weights(label, valid, (0.6, 3.0)).numpy()
    np.testing.assert_allclose(weights, [3.0, 0.6, 0.0, 0.0, 3.0])


def test_an_unlabelled_window_counts_in_no_validation_metric():
    # Labelled windows: positives 0.9, 0.7; negatives 0.2, 0.8 -> AUC 3/4. The unlabelled window
    # scored 0.01 would lower it to 4/6 if it counted as a positive.
    predictions = WindowPredictions(
        recording=["a"] * 5,
        patient=["p"] * 5,
        start_s=np.arange(5) * 10.0,
        end_s=np.arange(5) * 10.0 + 10.0,
        probability=[0.9, 0.7, 0.01, 0.2, 0.8],
        label=[1, 1, NO_LABEL, 0, 0],
    )
    metrics = validation_metrics(predictions)
    assert metrics["val_auc"] == pytest.approx(0.75) and metrics["val_windows"] == 4
    expected_loss = -np.mean(np.log([0.9, 0.7, 0.8, 0.2]))
    assert metrics["val_loss"] == pytest.approx(expected_loss)
