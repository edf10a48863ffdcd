"""What each split of an evaluation holds (subjects, recordings, hours, seizures, windows), and when
a split is too small to measure anything."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eegseq.evaluation.data import EvaluationSet

# Fewer seizures than this in an evaluated split: its event metrics move by 20 % or more
# with a single seizure found or missed, and the report warns.
MIN_SEIZURES = 5


def split_summary(
    patient_of: Mapping[str, str],
    durations_s: Mapping[str, float],
    reference_events: Mapping[str, NDArray[np.floating]],
    window_labels: NDArray[np.integer],
) -> dict[str, Any]:
    """Counts of one split.

    Args:
        patient_of: recording id -> subject (patient) id, for every recording of the split.
        durations_s: recording id -> duration, seconds.
        reference_events: recording id -> seizures ``(n, 2)``; absent means none.
        window_labels: labels of the split's windows, shape ``(n_windows,)``: 1 seizure,
            0 background, -1 unlabelled.

    Returns:
        ``{"subjects", "recordings", "hours", "seizures", "subjects_with_seizures", "windows",
        "positive_windows", "unlabelled_windows"}``.
    """
    seizures = {rid: int(np.size(reference_events.get(rid, ())) // 2) for rid in patient_of}
    labels = np.asarray(window_labels)
    return {
        "subjects": len(set(patient_of.values())),
        "recordings": len(patient_of),
        "hours": float(sum(durations_s[rid] for rid in patient_of) / 3600),
        "seizures": sum(seizures.values()),
        "subjects_with_seizures": len({patient_of[rid] for rid, n in seizures.items() if n}),
        "windows": int(labels.size),
        "positive_windows": int(np.sum(labels == 1)),
        "unlabelled_windows": int(np.sum(labels < 0)),
    }


def summarise(data: EvaluationSet) -> dict[str, Any]:
    """:func:`split_summary` of an evaluated split (its windows are those given to the evaluation)."""
    predictions = data.predictions
    patient_of = {rid: str(predictions.patient[rows[0]]) for rid, rows in predictions.indices_by_recording().items()}
    return split_summary(patient_of, data.recording_durations_s, data.reference_events, predictions.label)


def small_split_warnings(splits: Mapping[str, Mapping[str, Any]], measured: list[str]) -> list[str]:
    """A warning for each split of ``measured`` holding fewer than :data:`MIN_SEIZURES` seizures; none
    when no split holds any (a task without reference events, e.g. windows labelled from recordings)."""
    if not any(split["seizures"] for split in splits.values()):
        return []
    return [
        f"split {name!r} holds {splits[name]['seizures']} seizures (fewer than {MIN_SEIZURES}): "
        "one seizure found or missed moves its event metrics by 20 % or more; do not read much into them"
        for name in measured
        if splits[name]["seizures"] < MIN_SEIZURES
    ]
