"""Input types of the evaluation: per-window predictions and per-recording references.

Everything here is plain NumPy: the evaluation never sees a model, only the numbers a
model produced (README.md, "Layout": evaluation knows nothing of models).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

# Recording ids become file names (one events.tsv per recording), so they must be safe ones.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Windows may end a hair past the recording because of float rounding of sample counts.
_DURATION_SLACK_S = 1e-6


def check_safe_id(kind: str, value: str) -> None:
    """Raise ValueError unless ``value`` is usable as a file name (letters, digits, ``._-``)."""
    if not _SAFE_ID.match(value):
        raise ValueError(
            f"{kind} id {value!r} is not allowed: expected letters, digits, '.', '_' or '-' "
            "(it becomes a file name), starting with a letter or digit"
        )


@dataclass(frozen=True)
class WindowPredictions:
    """Per-window predicted probabilities with their time spans, for one split.

    All fields have shape ``(n_windows,)``; row ``i`` is one window of one recording.

    Attributes:
        recording: recording id of each window (``str``).
        patient: patient (subject) id of each window (``str``); constant within a recording.
        start_s: window start, seconds from the start of its recording.
        end_s: window end, seconds from the start of its recording (``end_s > start_s``).
        probability: predicted probability of the positive class (seizure), in ``[0, 1]``.
        label: reference label of the window: 1 seizure, 0 background, -1 unlabelled (e.g.
            a window that only grazes a seizure's unclear margin). Unlabelled windows are
            left out of window metrics but keep their place in event detection.
    """

    recording: NDArray[np.str_]
    patient: NDArray[np.str_]
    start_s: NDArray[np.float64]
    end_s: NDArray[np.float64]
    probability: NDArray[np.float64]
    label: NDArray[np.int8]

    def __post_init__(self) -> None:
        converted = {
            "recording": np.asarray(self.recording, dtype=np.str_),
            "patient": np.asarray(self.patient, dtype=np.str_),
            "start_s": np.asarray(self.start_s, dtype=np.float64),
            "end_s": np.asarray(self.end_s, dtype=np.float64),
            "probability": np.asarray(self.probability, dtype=np.float64),
            "label": np.asarray(self.label),
        }
        n_windows = converted["recording"].shape
        for name, values in converted.items():
            if values.ndim != 1 or values.shape != n_windows:
                raise ValueError(
                    f"WindowPredictions.{name} must be 1-D with the same length as 'recording' "
                    f"{n_windows}, got shape {values.shape}"
                )
        for name in ("start_s", "end_s", "probability"):
            if not np.all(np.isfinite(converted[name])):
                raise ValueError(f"WindowPredictions.{name} must be finite (no NaN or inf)")
        probability = converted["probability"]
        if np.any((probability < 0) | (probability > 1)):
            raise ValueError("WindowPredictions.probability must lie in [0, 1]")
        if np.any(converted["end_s"] <= converted["start_s"]):
            raise ValueError("WindowPredictions.end_s must be greater than start_s for every window")
        if np.any(converted["start_s"] < 0):
            raise ValueError("WindowPredictions.start_s must be >= 0 seconds")
        label = converted["label"]
        if not np.all(np.isin(label, (-1, 0, 1))):
            raise ValueError("WindowPredictions.label must contain only 1, 0 and -1 (unlabelled)")
        converted["label"] = label.astype(np.int8)
        for name, values in converted.items():
            object.__setattr__(self, name, values)

    def __len__(self) -> int:
        return int(self.recording.shape[0])

    @property
    def labelled(self) -> NDArray[np.bool_]:
        """Windows with a label (0 or 1), shape ``(n_windows,)``: those window metrics use."""
        return self.label >= 0

    def take(self, indices: NDArray[np.intp]) -> WindowPredictions:
        """Rows ``indices`` (shape ``(k,)``, repeats allowed) as a new ``WindowPredictions``."""
        return WindowPredictions(
            recording=self.recording[indices],
            patient=self.patient[indices],
            start_s=self.start_s[indices],
            end_s=self.end_s[indices],
            probability=self.probability[indices],
            label=self.label[indices],
        )

    def recording_ids(self) -> list[str]:
        """Distinct recording ids, in order of first appearance."""
        _, first = np.unique(self.recording, return_index=True)
        return [str(self.recording[i]) for i in np.sort(first)]

    def indices_by_recording(self) -> dict[str, NDArray[np.intp]]:
        """Window indices of each recording, sorted by ``(start_s, end_s)``."""
        order = np.lexsort((self.end_s, self.start_s))
        by_recording: dict[str, list[int]] = {rid: [] for rid in self.recording_ids()}
        for index in order:
            by_recording[str(self.recording[index])].append(int(index))
        return {rid: np.asarray(rows, dtype=np.intp) for rid, rows in by_recording.items()}


def _as_event_array(recording: str, events: object) -> NDArray[np.float64]:
    array = np.asarray(events, dtype=np.float64).reshape(-1, 2) if np.size(events) else np.zeros((0, 2))
    if not np.all(np.isfinite(array)):
        raise ValueError(f"reference events of recording {recording!r} must be finite")
    if np.any(array[:, 0] < 0) or np.any(array[:, 1] <= 0):
        raise ValueError(f"reference events of recording {recording!r}: expected rows (onset_s >= 0, duration_s > 0)")
    return array[np.argsort(array[:, 0], kind="stable")]


@dataclass(frozen=True)
class EvaluationSet:
    """One split to evaluate: window predictions plus each recording's references.

    Attributes:
        predictions: per-window predictions of every recording of the split.
        recording_durations_s: duration in seconds of each recording in ``predictions``.
        reference_events: per recording, reference seizures as an array of shape
            ``(n_events, 2)`` holding ``(onset_s, duration_s)``; a recording that is absent
            has no seizure, and seizures of a recording without windows are an error.
            Stored sorted by onset, for the recordings of ``predictions`` only.
    """

    predictions: WindowPredictions
    recording_durations_s: Mapping[str, float]
    reference_events: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.predictions) == 0:
            raise ValueError("EvaluationSet.predictions holds no window: nothing to evaluate")
        recordings = self.predictions.recording_ids()
        known = set(recordings)
        for rid in recordings:
            check_safe_id("recording", rid)
        for patient in np.unique(self.predictions.patient):
            check_safe_id("patient", str(patient))
        unknown = sorted(rid for rid, events in self.reference_events.items() if rid not in known and np.size(events))
        if unknown:
            raise ValueError(f"EvaluationSet.reference_events names recordings without windows: {unknown}")
        missing = [rid for rid in recordings if rid not in self.recording_durations_s]
        if missing:
            raise ValueError(f"EvaluationSet.recording_durations_s lacks recordings: {missing}")
        durations = {rid: float(self.recording_durations_s[rid]) for rid in recordings}
        events = {rid: _as_event_array(rid, self.reference_events.get(rid, ())) for rid in recordings}
        for rid, rows in self.predictions.indices_by_recording().items():
            if not durations[rid] > 0:
                raise ValueError(f"recording_durations_s[{rid!r}] must be > 0 seconds")
            if self.predictions.end_s[rows].max() > durations[rid] + _DURATION_SLACK_S:
                raise ValueError(f"windows of recording {rid!r} end after its duration {durations[rid]} s")
            if len(np.unique(self.predictions.patient[rows])) != 1:
                raise ValueError(f"recording {rid!r} has windows of more than one patient")
            if events[rid].size and np.max(events[rid].sum(axis=1)) > durations[rid] + _DURATION_SLACK_S:
                raise ValueError(f"a reference event of recording {rid!r} ends after its duration")
        object.__setattr__(self, "recording_durations_s", durations)
        object.__setattr__(self, "reference_events", events)

    @property
    def recordings(self) -> list[str]:
        """Recording ids in order of first appearance in ``predictions``."""
        return list(self.recording_durations_s)
