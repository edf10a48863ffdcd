"""Event detection on hand-made probability traces."""

import numpy as np
import pytest

from eegseq.evaluation.detection import detect_events, merge_intervals, smooth_probabilities

# Six 1-s windows with 1-s hop: centres 0.5 ... 5.5.
START = np.arange(6.0)
END = START + 1
PROBS = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0])


def test_trailing_smoothing_by_hand():
    # smoothing_s = 2: window i averages windows with centre in (c_i - 2, c_i], i.e. i-1 and i.
    # [0/1, (0+1)/2, (1+1)/2, (1+0)/2, (0+0)/2, (0+1)/2]
    smoothed = smooth_probabilities(START, END, PROBS, 2.0)
    assert smoothed == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0, 0.5])
    assert smooth_probabilities(START, END, PROBS, 0.0) == pytest.approx(PROBS)


def test_smoothing_needs_time_order():
    with pytest.raises(ValueError, match="time order"):
        smooth_probabilities(START[::-1], END[::-1], PROBS, 2.0)


def test_detection_threshold_and_union():
    # Raw, threshold 0.5: windows 1, 2 and 5 active -> [1, 3] and [5, 6].
    events = detect_events(START, END, PROBS, 0.5)
    assert events.tolist() == [[1.0, 2.0], [5.0, 1.0]]


def test_detection_with_smoothing():
    # Smoothed (see above) >= 0.5: windows 1, 2, 3, 5 -> [1, 4] and [5, 6].
    events = detect_events(START, END, PROBS, 0.5, smoothing_s=2.0)
    assert events.tolist() == [[1.0, 3.0], [5.0, 1.0]]


def test_detection_merge_gap_and_min_duration():
    # Gap between [1, 4] and [5, 6] is 1 s: merged when merge_gap_s >= 1.
    assert detect_events(START, END, PROBS, 0.5, smoothing_s=2.0, merge_gap_s=1.0).tolist() == [[1.0, 5.0]]
    assert detect_events(START, END, PROBS, 0.5, smoothing_s=2.0, merge_gap_s=0.9).shape == (2, 2)
    # min_duration_s = 2 drops the 1-s event, keeps the 3-s one.
    assert detect_events(START, END, PROBS, 0.5, smoothing_s=2.0, min_duration_s=2.0).tolist() == [[1.0, 3.0]]


def test_detection_overlapping_windows_and_clipping():
    # 4-s windows every 2 s; windows starting at 2 and 4 active: union [2, 8].
    start = np.arange(0.0, 10.0, 2.0)
    events = detect_events(start, start + 4, [0.0, 0.9, 0.9, 0.0, 0.0], 0.5)
    assert events.tolist() == [[2.0, 6.0]]
    # Last window runs to 12 s but the recording lasts 11 s: clipped.
    events = detect_events(start, start + 4, [0, 0, 0, 0, 0.9], 0.5, duration_s=11.0)
    assert events.tolist() == [[8.0, 3.0]]


def test_no_detection():
    assert detect_events(START, END, PROBS * 0.1, 0.5).shape == (0, 2)


def test_merge_intervals_unsorted_input():
    merged = merge_intervals(np.array([[5.0, 6.0], [0.0, 2.0], [1.0, 3.0], [3.5, 4.0]]), 0.5)
    # [0,2] u [1,3] -> [0,3]; gap to 3.5 is 0.5 <= 0.5 -> [0,4]; gap to 5 is 1 -> separate.
    assert merged.tolist() == [[0.0, 4.0], [5.0, 6.0]]
