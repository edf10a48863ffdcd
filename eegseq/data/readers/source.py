"""What a format reader hands to :func:`eegseq.data.readers.read_recording`: an opened file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from eegseq.data.recording import Event


@dataclass
class OpenedFile:
    """A recording file whose header is read and whose samples are read on demand.

    Attributes:
        channels: usable channel names in file order (dummies and repeats already dropped).
        sfreqs: native sampling rate of each channel in ``channels``, Hz.
        read: given names of channels that share one native rate, returns their samples as float32
            ``(n_samples, len(names))`` in microvolts, columns in the order given.
        events: events stored in the file itself (seconds).
        label: recording-level label from the file or its name, or ``None``.
        meta: JSON-serialisable facts from the source.
        dropped_channels: names dropped by the dummy/repeat rule, as written in the file.
    """

    channels: tuple[str, ...]
    sfreqs: tuple[float, ...]
    read: Callable[[Sequence[str]], np.ndarray]
    events: list[Event] = field(default_factory=list)
    label: int | None = None
    meta: dict = field(default_factory=dict)
    dropped_channels: list[str] = field(default_factory=list)
