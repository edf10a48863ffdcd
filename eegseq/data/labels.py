"""Window labels from a recording's events or its label, by a :class:`LabelRule`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from eegseq.data.recording import Event

NO_LABEL = -1


class LabelRule(BaseModel):
    """How a window gets its integer label (``-1`` = no label, carries no loss).

    * ``source="events"``: 1 when events whose type is one of ``event_types`` (or starts
      with ``type + "_"``, e.g. ``sz_foc``) cover at least ``min_overlap`` of the window's real
      samples (with ``min_overlap == 0``: any overlap), 0 when they do not touch it, and ``-1``
      (unlabelled) when they cover a positive fraction under ``min_overlap``: a window that only
      grazes a seizure's unclear margin is neither seizure nor background, carries no loss and
      no window metric, and is still streamed so the state stays continuous.
    * ``source="recording"``: the recording's label (``-1`` if it has none). With
      ``scored_event`` set, only windows overlapping an event of that type (same overlap rule)
      keep it; the others get ``-1`` (the long-memory variant scores only its ``"score"`` span).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["events", "recording"] = "events"
    event_types: tuple[str, ...] = ("sz",)
    min_overlap: float = Field(0.0, ge=0.0, le=1.0, description="fraction of the window; 0 = any overlap")
    scored_event: str | None = None


def window_labels(
    rule: LabelRule, events: Sequence[Event], label: int | None, sfreq: float, n_samples: int, window: int
) -> np.ndarray:
    """Labels of every ``window``-sample window of a recording of ``n_samples`` at ``sfreq`` Hz
    (int32 ``(ceil(n_samples / window),)``, -1 = none); its last window covers only its real samples."""
    return np.array(
        [
            _label(rule, events, label, sfreq, start, min(start + window, n_samples))
            for start in range(0, n_samples, window)
        ],
        np.int32,
    )


def _label(rule: LabelRule, events: Sequence[Event], label: int | None, sfreq: float, start: int, stop: int) -> int:
    if rule.source == "events":
        covered = _covered(events, sfreq, start, stop, rule.event_types)
        if covered == 0:
            return 0
        return 1 if covered >= rule.min_overlap * (stop - start) else NO_LABEL
    if label is None:
        return NO_LABEL
    if rule.scored_event is not None and not _overlaps(rule, events, sfreq, start, stop, (rule.scored_event,)):
        return NO_LABEL
    return label


def _overlaps(
    rule: LabelRule, events: Sequence[Event], sfreq: float, start: int, stop: int, types: tuple[str, ...]
) -> bool:
    """Whether events of ``types`` cover samples ``[start, stop)`` per the rule's ``min_overlap``."""
    covered = _covered(events, sfreq, start, stop, types)
    if rule.min_overlap == 0:
        return covered > 0
    return covered >= rule.min_overlap * (stop - start)


def _covered(events: Sequence[Event], sfreq: float, start: int, stop: int, types: tuple[str, ...]) -> float:
    """Samples of ``[start, stop)`` covered by the union of the events of ``types``."""
    spans = sorted(
        (e.onset * sfreq, e.offset * sfreq)
        for e in events
        if any(e.label == t or e.label.startswith(t + "_") for t in types)
    )
    covered, reach = 0.0, float(start)
    for onset, offset in spans:  # union of spans clipped to the window
        lo, hi = max(onset, reach), min(offset, stop)
        if hi > lo:
            covered += hi - lo
            reach = hi
    return covered
