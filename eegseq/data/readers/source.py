"""What a format reader hands to :func:`eegseq.data.readers.read_recording`: an opened file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from eegseq.data.recording import Event

MICROVOLTS = "uV"


@dataclass
class OpenedFile:
    """A recording file whose header is read and whose samples are read on demand.

    Attributes:
        channels: usable channel names in file order (dummies and repeats already dropped).
        sfreqs: native sampling rate of each channel in ``channels``, Hz.
        read: given names of channels that share one native rate, returns their samples as float32
            ``(n_samples, len(names))``, columns in the order given: microvolts for a channel whose unit is
            ``"uV"``, the file's own values otherwise.
        events: events stored in the file itself (seconds).
        label: recording-level label from the file or its name, or ``None``.
        meta: JSON-serialisable facts from the source.
        dropped_channels: names dropped by the dummy/repeat rule, as written in the file.
        units: unit of each channel in ``channels`` as :attr:`read` returns it: ``"uV"`` for a channel the
            file holds in volts (V, mV or µV; converted), else the file's own unit (``"%"``, ``"bpm"``, ``""``
            when it states none); ``None``: every channel in µV (formats without units, e.g. Kaggle ``.mat``).
        kinds: signal type of each channel (MNE's names: ``"eeg"``, ``"seeg"``, ``"ecog"``, ``"ecg"``,
            ``"emg"``, ``"misc"``, ...); ``None``: every channel EEG.
    """

    channels: tuple[str, ...]
    sfreqs: tuple[float, ...]
    read: Callable[[Sequence[str]], np.ndarray]
    events: list[Event] = field(default_factory=list)
    label: int | None = None
    meta: dict = field(default_factory=dict)
    dropped_channels: list[str] = field(default_factory=list)
    units: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
