"""From window probabilities of one recording to detected events (onset, duration in seconds).

Steps, in order: trailing moving average over ``smoothing_s``; threshold
(``smoothed >= threshold``); union of the spans of the windows above threshold; merging of
events separated by at most ``merge_gap_s``; dropping of events shorter than
``min_duration_s``; clipping to the recording.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def smooth_probabilities(
    start_s: NDArray[np.floating], end_s: NDArray[np.floating], probability: NDArray[np.floating], smoothing_s: float
) -> NDArray[np.float64]:
    """Trailing moving average of window probabilities over ``smoothing_s`` seconds.

    Window ``i`` gets the mean probability of the windows ``j`` whose centre lies in
    ``(centre_i - smoothing_s, centre_i]``. Trailing (causal) rather than centred so that
    a detection only uses the past, as an online detector would, and latencies stay honest.

    Args:
        start_s, end_s, probability: shape ``(n,)``, one recording, sorted by start.
        smoothing_s: averaging span in seconds; 0 returns the probabilities unchanged.

    Returns:
        Smoothed probabilities, shape ``(n,)``.
    """
    probability = np.asarray(probability, dtype=np.float64)
    if smoothing_s <= 0 or probability.size == 0:
        return probability.copy()
    centre = (np.asarray(start_s, dtype=np.float64) + np.asarray(end_s, dtype=np.float64)) / 2
    if np.any(np.diff(centre) < 0):
        raise ValueError("smooth_probabilities needs windows in time order (non-decreasing centres)")
    first = np.searchsorted(centre, centre - smoothing_s, side="right")
    last = np.arange(probability.size) + 1
    cumulative = np.concatenate(([0.0], np.cumsum(probability)))
    return (cumulative[last] - cumulative[first]) / (last - first)


def merge_intervals(intervals: NDArray[np.floating], max_gap_s: float) -> NDArray[np.float64]:
    """Union of ``(start_s, end_s)`` intervals, also joining those at most ``max_gap_s`` apart.

    Args:
        intervals: shape ``(n, 2)`` of ``(start_s, end_s)``, any order.
        max_gap_s: intervals whose gap (next start minus current end) is ``<= max_gap_s``
            become one; 0 joins overlapping and touching intervals only.

    Returns:
        Disjoint intervals sorted by start, shape ``(m, 2)``, ``m <= n``.
    """
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    if intervals.shape[0] == 0:
        return intervals.copy()
    ordered = intervals[np.argsort(intervals[:, 0], kind="stable")]
    merged = [ordered[0].copy()]
    for start, end in ordered[1:]:
        if start - merged[-1][1] <= max_gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append(np.array([start, end]))
    return np.asarray(merged)


def detect_events(
    start_s: NDArray[np.floating],
    end_s: NDArray[np.floating],
    probability: NDArray[np.floating],
    threshold: float,
    smoothing_s: float = 0.0,
    min_duration_s: float = 0.0,
    merge_gap_s: float = 0.0,
    duration_s: float | None = None,
) -> NDArray[np.float64]:
    """Detected events of one recording.

    Args:
        start_s, end_s, probability: window spans (seconds) and probabilities, shape
            ``(n,)``, sorted by start.
        threshold: a window is active when its smoothed probability is ``>= threshold``.
        smoothing_s: see :func:`smooth_probabilities`.
        min_duration_s: events shorter than this (after merging) are dropped.
        merge_gap_s: see :func:`merge_intervals`.
        duration_s: recording duration; events are clipped to ``[0, duration_s]``.

    Returns:
        Events as ``(onset_s, duration_s)`` rows, shape ``(k, 2)``, sorted by onset.
    """
    start_s = np.asarray(start_s, dtype=np.float64)
    end_s = np.asarray(end_s, dtype=np.float64)
    active = smooth_probabilities(start_s, end_s, probability, smoothing_s) >= threshold
    events = merge_intervals(np.stack([start_s[active], end_s[active]], axis=1), merge_gap_s)
    if duration_s is not None:
        events = np.clip(events, 0.0, duration_s)
    events = events[(events[:, 1] - events[:, 0]) >= max(min_duration_s, np.finfo(float).tiny)]
    return np.stack([events[:, 0], events[:, 1] - events[:, 0]], axis=1)
