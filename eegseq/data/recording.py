"""The in-memory recording that every reader yields and the store persists."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Event:
    """A labelled span of a recording.

    Attributes:
        onset: start, seconds from the recording's first sample.
        duration: length in seconds (0 for an instantaneous marker).
        label: event type in the BIDS/SzCORE convention, e.g. ``"sz"`` or ``"bckg"``.
    """

    onset: float
    duration: float
    label: str

    @property
    def offset(self) -> float:
        """End of the event, seconds."""
        return self.onset + self.duration


@dataclass
class Recording:
    """One continuous recording, as every reader returns it.

    Attributes:
        signal: float32 array ``(n_samples, n_channels)``, microvolts, time first,
            channels in ``channels`` order.
        sfreq: sampling rate, Hz.
        channels: channel names, in column order of ``signal``.
        events: labelled events (seconds); empty when the recording has a recording-level label only.
        label: recording-level label (e.g. 1 preictal / 0 interictal), or ``None`` if unknown.
        source: path of the file it was read from, or a description of how it was generated.
        meta: extra facts from the source (e.g. Kaggle ``sequence``), JSON-serialisable values only.
    """

    signal: np.ndarray
    sfreq: float
    channels: tuple[str, ...]
    events: list[Event] = field(default_factory=list)
    label: int | None = None
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.signal.ndim != 2:
            raise ValueError(f"Recording.signal must be (n_samples, n_channels), got shape {self.signal.shape}")
        if self.signal.shape[1] != len(self.channels):
            raise ValueError(
                f"Recording.signal has {self.signal.shape[1]} columns but {len(self.channels)} channel names were given"
            )
        if self.signal.dtype != np.float32:
            self.signal = self.signal.astype(np.float32)
        self.channels = tuple(self.channels)

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sfreq
