"""EDF/EDF+/BDF, FIF, BrainVision and EEGLAB files, read lazily through MNE.

Units come from the file: for EDF/BDF the physical dimension written in the header (MNE labels every
EDF channel as volts, whatever its dimension), for the other formats MNE's channel unit. Channels in
volts (EDF/BDF: ``V``, ``mV``, ``uV``/``µV``, the dimensions MNE converts to volts) are scaled to
microvolts; any other channel (``%``, ``bpm``, ``mm``, no dimension, a trigger channel) keeps its
values and its unit (see :class:`~eegseq.data.readers.source.OpenedFile`), for the channel rule of
:mod:`~eegseq.data.readers.policy` to drop or refuse. Signal types: EDF/BDF labels of the EDF+ form
``"<type> <name>"`` with a non-EEG type (``ECG``, ``EMG``, ``EOG``, ``RESP``, ``SAO2``, ...) are of that
type, every other EDF/BDF channel is EEG (MNE's rule); the other formats keep MNE's types.
Annotations stored in the file become events, onsets in seconds from the first sample.

Mixed rates in EDF/BDF: MNE's EDF reader upsamples every channel to the file's highest rate (FFT
resampling, see MNE's ``read_raw_edf`` notes). To apply :mod:`~eegseq.data.readers.policy` instead,
channels are grouped by the native rate written in the header, and each group is read through an MNE
reader that excludes every other channel, so that MNE never resamples.

Truncation: when an EDF/BDF is shorter than its header promises, MNE warns and reads what is there;
here it is a :class:`~eegseq.data.errors.RecordingError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np
from mne.io.constants import FIFF

from eegseq.data.errors import RecordingError
from eegseq.data.readers.policy import usable_channels
from eegseq.data.readers.source import MICROVOLTS, OpenedFile
from eegseq.data.recording import Event

_MICROVOLTS_PER_VOLT = 1e6
# EDF/BDF physical dimensions that MNE converts to volts (its EDF reader; any other dimension it passes on
# as written), spellings of µ included.
_EDF_VOLT_DIMENSIONS = ("V", "mV", "uV", "\u00b5V", "\u03bcV", "\x83\xcaV")
# EDF+ signal-type prefixes of a label (``"ECG EKG"``) that mark a non-EEG signal, with MNE's type names.
_EDF_NON_EEG_TYPES = {
    "EOG": "eog",
    "ECG": "ecg",
    "EKG": "ecg",
    "EMG": "emg",
    "BIO": "bio",
    "RESP": "resp",
    "TEMP": "temperature",
    "MISC": "misc",
    "SAO2": "bio",
    "SPO2": "bio",
    "STIM": "stim",
}
# Signals with these labels carry EDF+/BDF+ annotations (TAL), not samples; MNE leaves them out.
_ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
# EDF/BDF header: 256 fixed bytes, then 256 bytes per signal, of which 216 precede
# "number of samples in each data record" (label 16, transducer 80, dimension 8,
# physical min/max 8+8, digital min/max 8+8, prefiltering 80).
_FIXED_HEADER_BYTES = 256
_SIGNAL_HEADER_BYTES = 256
_BEFORE_N_SAMPLES_BYTES = 216
_BEFORE_DIMENSION_BYTES = 96  # label 16, transducer 80


@dataclass(frozen=True)
class EdfHeader:
    """The fields of an EDF/BDF header this reader needs.

    Attributes:
        labels: signal labels as written (blanks stripped), annotation signals included.
        dimensions: physical dimension of each signal as written (blanks stripped).
        samples_per_record: samples of each signal in one data record.
        record_seconds: duration of one data record, seconds.
        n_records: number of data records (-1 when the writer did not know).
        header_bytes: size of the header, bytes.
    """

    labels: tuple[str, ...]
    dimensions: tuple[str, ...]
    samples_per_record: tuple[int, ...]
    record_seconds: float
    n_records: int
    header_bytes: int


def read_edf_header(path: str | os.PathLike, bytes_per_sample: int) -> EdfHeader:
    """Parse the EDF/BDF header and check that the file holds as many bytes as it promises.

    Args:
        path: an ``.edf`` (2 bytes per sample) or ``.bdf`` (3 bytes per sample) file.
        bytes_per_sample: 2 for EDF, 3 for BDF.

    Raises:
        RecordingError: the header is short or malformed, or the data records are truncated.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        fixed = handle.read(_FIXED_HEADER_BYTES)
        try:
            if len(fixed) < _FIXED_HEADER_BYTES:
                raise ValueError(f"{len(fixed)} bytes, shorter than the {_FIXED_HEADER_BYTES}-byte fixed header")
            header_bytes = int(fixed[184:192].decode("ascii"))
            n_records = int(fixed[236:244].decode("ascii"))
            record_seconds = float(fixed[244:252].decode("ascii"))
            n_signals = int(fixed[252:256].decode("ascii"))
            signals = handle.read(n_signals * _SIGNAL_HEADER_BYTES)
            if len(signals) < n_signals * _SIGNAL_HEADER_BYTES or header_bytes < _FIXED_HEADER_BYTES + len(signals):
                raise ValueError(f"header truncated: {n_signals} signals announced, file has {size} bytes")
            labels = tuple(signals[16 * i : 16 * (i + 1)].decode("latin-1").strip() for i in range(n_signals))
            dims_at = _BEFORE_DIMENSION_BYTES * n_signals
            dimensions = tuple(
                signals[dims_at + 8 * i : dims_at + 8 * (i + 1)].decode("latin-1").strip() for i in range(n_signals)
            )
            start = _BEFORE_N_SAMPLES_BYTES * n_signals
            samples = tuple(int(signals[start + 8 * i : start + 8 * (i + 1)].decode("ascii")) for i in range(n_signals))
        except (ValueError, UnicodeDecodeError) as exc:
            raise RecordingError(f"not a valid EDF/BDF header ({exc})", path=path) from exc
    if record_seconds <= 0 or min(samples, default=0) <= 0:
        raise RecordingError(
            f"invalid EDF/BDF header: record duration {record_seconds} s, samples per record {samples}", path=path
        )
    expected = header_bytes + n_records * sum(samples) * bytes_per_sample
    if n_records >= 0 and size < expected:
        raise RecordingError(
            f"truncated: header promises {n_records} data records ({expected} bytes), file has {size} bytes",
            path=path,
        )
    return EdfHeader(labels, dimensions, samples, record_seconds, n_records, header_bytes)


def _read_scaled(raw: mne.io.BaseRaw, names: Sequence[str], volts: Sequence[bool]) -> np.ndarray:
    """Read channels ``names`` (MNE names) as float32 ``(n_samples, len(names))``; those with ``volts``
    True (MNE holds them in volts) scaled to µV, the others as MNE returns them."""
    data = raw.get_data(picks=list(names))
    scale = np.where(volts, _MICROVOLTS_PER_VOLT, 1.0)
    return (data.T * scale).astype(np.float32)


def _events(raw: mne.io.BaseRaw) -> list[Event]:
    annotations = raw.annotations
    onsets = annotations.onset - raw.first_time  # MNE onsets count from meas_date, not from the first sample
    return [
        Event(float(onset), float(duration), str(label).strip())
        for onset, duration, label in zip(onsets, annotations.duration, annotations.description)
    ]


def _edf_kind(label: str) -> str:
    """Signal type of an EDF/BDF label: a non-EEG EDF+ type prefix, else EEG (as MNE types EDF channels)."""
    prefix = label.split(" ", 1)[0].upper() if " " in label else ""
    return _EDF_NON_EEG_TYPES.get(prefix, "eeg")


def _open_edf(path: Path, bdf: bool) -> OpenedFile:
    header = read_edf_header(path, bytes_per_sample=3 if bdf else 2)
    read_raw: Callable[..., mne.io.BaseRaw] = mne.io.read_raw_bdf if bdf else mne.io.read_raw_edf
    raw = read_raw(path, preload=False, verbose="error")
    signal_idx = [i for i, label in enumerate(header.labels) if label not in _ANNOTATION_LABELS]
    if len(signal_idx) != len(raw.ch_names):
        raise RecordingError(
            f"header lists {len(signal_idx)} signals but MNE reads {len(raw.ch_names)}; cannot map channel names",
            path=path,
        )
    labels = [header.labels[i] for i in signal_idx]
    rates = [header.samples_per_record[i] / header.record_seconds for i in signal_idx]
    dimensions = [header.dimensions[i] for i in signal_idx]
    kept, dropped = usable_channels(labels)
    names = tuple(labels[i] for i in kept)
    mne_name = {labels[i]: raw.ch_names[i] for i in kept}
    rate_of = {labels[i]: rates[i] for i in kept}
    volts = {labels[i]: dimensions[i] in _EDF_VOLT_DIMENSIONS for i in kept}
    units = tuple(MICROVOLTS if volts[labels[i]] else dimensions[i] for i in kept)
    uniform = len(set(rates)) == 1

    def read(group: Sequence[str]) -> np.ndarray:
        group_raw = raw
        if not uniform:
            # Keep only the channels of this group's rate so that MNE has nothing to upsample.
            rate = rate_of[group[0]]
            others = [mne_n for mne_n, r in zip(raw.ch_names, rates) if r != rate]
            group_raw = read_raw(path, preload=False, exclude=others, exclude_after_unique=True, verbose="error")
        return _read_scaled(group_raw, [mne_name[name] for name in group], [volts[name] for name in group])

    return OpenedFile(
        names,
        tuple(rate_of[n] for n in names),
        read,
        _events(raw),
        None,
        {},
        dropped,
        units,
        tuple(_edf_kind(name) for name in names),
    )


def _fiff_unit_name(unit: int) -> str:
    """``"CEL"`` for ``FIFF.FIFF_UNIT_CEL``; ``""`` for none."""
    names = [name for name in dir(FIFF) if name.startswith("FIFF_UNIT_") and getattr(FIFF, name) == unit]
    return names[0].removeprefix("FIFF_UNIT_") if names and unit != FIFF.FIFF_UNIT_NONE else ""


def _open_other(path: Path, read_raw: Callable[..., mne.io.BaseRaw]) -> OpenedFile:
    raw = read_raw(path, preload=False, verbose="error")
    kept, dropped = usable_channels(raw.ch_names)
    names = tuple(raw.ch_names[i] for i in kept)
    sfreq = float(raw.info["sfreq"])
    info = {ch["ch_name"]: ch for ch in raw.info["chs"]}
    volts = {name: info[name]["unit"] == FIFF.FIFF_UNIT_V for name in names}
    units = tuple(MICROVOLTS if volts[name] else _fiff_unit_name(info[name]["unit"]) for name in names)
    kinds = dict(zip(raw.ch_names, raw.get_channel_types()))
    return OpenedFile(
        names,
        (sfreq,) * len(names),
        lambda group: _read_scaled(raw, group, [volts[name] for name in group]),
        _events(raw),
        None,
        {},
        dropped,
        units,
        tuple(kinds[name] for name in names),
    )


_SUFFIXES: dict[str, Callable[[Path], OpenedFile]] = {
    ".edf": lambda path: _open_edf(path, bdf=False),
    ".bdf": lambda path: _open_edf(path, bdf=True),
    ".fif": lambda path: _open_other(path, mne.io.read_raw_fif),
    ".fif.gz": lambda path: _open_other(path, mne.io.read_raw_fif),
    ".vhdr": lambda path: _open_other(path, mne.io.read_raw_brainvision),
    ".set": lambda path: _open_other(path, mne.io.read_raw_eeglab),
}


def mne_suffix(path: Path) -> str | None:
    """The suffix (lower case) by which an MNE-readable format is recognised, or ``None``."""
    name = path.name.lower()
    return next((suffix for suffix in _SUFFIXES if name.endswith(suffix)), None)


def open_mne_file(path: Path) -> OpenedFile:
    """Open an EDF/EDF+/BDF, FIF, BrainVision (``.vhdr``) or EEGLAB (``.set``) file.

    Raises:
        RecordingError: the file is truncated, corrupt, or MNE cannot read it (cause in the message).
    """
    suffix = mne_suffix(path)
    if suffix is None:
        raise ValueError(f"{path}: not an MNE-readable suffix")
    return _SUFFIXES[suffix](path)
