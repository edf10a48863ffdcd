"""Format-independent policies applied to every reader's output: channels, sampling rate, signal checks.

Channel rule (all formats):
    Names are taken as written in the file, surrounding blanks removed (for EDF/BDF from the file header,
    before MNE makes repeated names unique). A name with no letter or digit, ignoring a ``-<number>``
    suffix (CHB-MIT's ``-`` placeholder columns, seen as ``--0``/``--1`` when another tool made them
    unique), is a dummy and is dropped. A name that repeats an earlier one is dropped too: the first occurrence wins
    (CHB-MIT records ``T8-P8`` twice, as two copies of one derivation). Dropped names are reported in
    ``Recording.meta["dropped_channels"]``. ``channels=[...]`` then selects and orders the remaining ones.

Unit and type rule (all formats):
    Samples are stored in µV. A channel the file holds in volts (V, mV or µV: unit ``"uV"`` in
    :class:`~eegseq.data.readers.source.OpenedFile`) is converted; no other channel is ever scaled.
    With no channel list, only EEG channels are kept: in volts and of an EEG type (``eeg``, ``seeg``,
    ``ecog``, ``dbs``); the others (SpO2 in ``%``, heart rate in ``bpm``, a photic channel in ``mm``,
    1 Hz trend channels with no unit, ``ECG``/``EMG``-typed labels) are dropped and listed in
    ``Recording.meta["non_eeg_channels"]`` as ``"name (unit, type)"``. A configured channel that is
    not in volts is refused (:class:`~eegseq.data.errors.RecordingError`), since it cannot be stored in µV.

Bipolar montages:
    ``montage=["FP1-F7", "F7-T3", ...]`` outputs each derivation ``A-B`` as electrode ``A`` minus
    electrode ``B``, computed from the file's referential channels. An electrode is found by name,
    case-insensitively, as written or as ``"EEG <name>-<reference>"`` with any reference suffix
    (TUSZ: ``-REF`` in ``01_tcp_ar`` and ``03_tcp_ar_a``, ``-LE`` in ``02_tcp_le``): the common
    reference cancels in the difference, so one montage serves recordings of every reference. An
    electrode the file lacks, or finds twice, is an error naming it.

Event rule (events past the end):
    Whatever their source (the file, an annotation file beside it, a manifest's events table), events
    must lie inside the recording. An event that ends at most :data:`EVENT_SLACK_SECONDS` after the last
    sample (annotation files round their times) is clipped to the end; a marker at the end itself
    (EDF+'s "Recording ends") is kept. Any other event that starts after the end, or ends later than
    that, is past the end: ``events_past_end="refuse"`` (the default) raises
    :class:`~eegseq.data.errors.RecordingError` listing them; ``"clip"`` drops the events that start
    after the end, clips the others to the end, and records one warning per event in
    ``Recording.meta["warnings"]`` (an ingest reports them).

Sampling-rate rule:
    ``resample="polyphase"`` converts every channel to the output rate with
    :func:`scipy.signal.resample_poly` (anti-aliasing FIR, rational factor up/down);
    ``resample="refuse"`` raises :class:`~eegseq.data.errors.RecordingError` instead whenever a channel's
    native rate differs from the output rate. The output rate is ``target_sfreq`` when given, else the
    channels' common native rate; for a file whose selected channels have different rates and no
    ``target_sfreq``, it is the highest of them (the rate MNE would upsample to).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from eegseq.data.errors import RecordingError
from eegseq.data.readers.source import MICROVOLTS, OpenedFile
from eegseq.data.recording import Event

RESAMPLE_POLICIES = ("polyphase", "refuse")
EVENTS_PAST_END = ("refuse", "clip")
# Annotation files round their times: an event may end this much after the last sample, seconds.
EVENT_SLACK_SECONDS = 1.0
# MNE's types of channels that record brain potentials.
EEG_KINDS = ("eeg", "seeg", "ecog", "dbs")

# Rates are turned into fractions with at most this denominator: enough for every rate seen in EEG
# files, including Kaggle 2014's 16384/41 Hz (399.6097... Hz), while keeping the polyphase filter short.
_MAX_RATE_DENOMINATOR = 1000
# Relative error tolerated between a rate and its fraction.
_RATE_TOLERANCE = 1e-9
# A referential channel: "FP1", "EEG FP1-REF", "EEG FP1-LE" (the reference suffix has no digit-free
# electrode pair form: "EEG FP1-F7" is bipolar and does not match).
_REFERENTIAL = re.compile(r"^(?:EEG\s+)?(?P<electrode>[A-Za-z0-9]+)(?:-(?:REF|LE|AR|AVG|AV|CAR))?$", re.I)
# The suffix MNE (and others) append to make repeated names unique: "-" becomes "--0", "--1", ...
_UNIQUE_SUFFIX = re.compile(r"-\d+$")


def usable_channels(names: Sequence[str]) -> tuple[list[int], list[str]]:
    """Apply the dummy/duplicate rule to a file's channel names.

    Args:
        names: channel names in file order.

    Returns:
        ``(kept, dropped)``: indices (into ``names``) of the usable channels in file order, and the
        dropped names as written.
    """
    kept: list[int] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for index, raw_name in enumerate(names):
        name = raw_name.strip()
        is_dummy = not any(ch.isalnum() for ch in _UNIQUE_SUFFIX.sub("", name))
        if is_dummy or name in seen:
            dropped.append(raw_name)
            continue
        seen.add(name)
        kept.append(index)
    return kept, dropped


def select_channels(
    opened: OpenedFile, wanted: Sequence[str] | None, path: str | os.PathLike
) -> tuple[list[str], list[str]]:
    """Return the channel names to read, in output order, per the module's channel, unit and type rules.

    Args:
        opened: the file, its usable channels in file order with their units and types.
        wanted: configured channels (selects and orders), or ``None`` for every EEG channel of the file.
        path: the file, for error messages.

    Returns:
        ``(names, non_eeg)``: the channels to read, and (``wanted=None`` only) the channels left out as
        non-EEG, each as ``"name (unit, type)"``.

    Raises:
        RecordingError: a configured channel is not in the file (the message lists what the file has) or is
            not in volts; the file has no usable (EEG) channel.
        ValueError: ``wanted`` is empty or names a channel twice.
    """
    available = opened.channels
    units = opened.units or (MICROVOLTS,) * len(available)
    kinds = opened.kinds or ("eeg",) * len(available)
    if wanted is None:
        eeg = [name for name, unit, kind in zip(available, units, kinds) if unit == MICROVOLTS and kind in EEG_KINDS]
        non_eeg = [
            f"{name} ({unit or 'no unit'}, {kind})"
            for name, unit, kind in zip(available, units, kinds)
            if name not in set(eeg)
        ]
        if not eeg:
            raise RecordingError(
                f"no usable EEG channel in the file (EEG type, in volts); it has {non_eeg or 'no channel'}", path=path
            )
        return eeg, non_eeg
    wanted = [str(name) for name in wanted]
    if not wanted:
        raise ValueError("channels: configure at least one channel, or None for all")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"channels: each channel may be configured once, got {wanted}")
    missing = [name for name in wanted if name not in set(available)]
    if missing:
        raise RecordingError(f"configured channel(s) {missing} not in the file; it has {list(available)}", path=path)
    unit_of = dict(zip(available, units))
    not_volts = [f"{name} ({unit_of[name] or 'no unit'})" for name in wanted if unit_of[name] != MICROVOLTS]
    if not_volts:
        raise RecordingError(
            f"configured channel(s) {not_volts} not in volts: the store holds µV, so they cannot be stored", path=path
        )
    return wanted, []


def parse_montage(montage: Sequence[str]) -> list[tuple[str, str]]:
    """``["FP1-F7", ...]`` -> ``[("FP1", "F7"), ...]`` (upper case).

    Raises:
        ValueError: an entry that is not ``A-B`` with two electrode names, or a repeated entry.
    """
    pairs = []
    for entry in montage:
        parts = str(entry).split("-")
        if len(parts) != 2 or not all(part.strip() for part in parts):
            raise ValueError(f"montage: each derivation is 'A-B' (electrode A minus electrode B), got {entry!r}")
        pairs.append((parts[0].strip().upper(), parts[1].strip().upper()))
    if len(set(pairs)) != len(pairs):
        raise ValueError(f"montage: each derivation may be listed once, got {list(montage)}")
    return pairs


def electrode_channels(available: Sequence[str], electrodes: Sequence[str], path: str | os.PathLike) -> dict[str, str]:
    """``{electrode: channel name}``: the referential channel of each electrode (see the montage rule).

    Raises:
        RecordingError: an electrode is not in the file, or two channels name it.
    """
    found: dict[str, list[str]] = {electrode: [] for electrode in electrodes}
    for name in available:
        match = _REFERENTIAL.match(name.strip())
        if match and match["electrode"].upper() in found:
            found[match["electrode"].upper()].append(name)
    missing = [electrode for electrode, names in found.items() if not names]
    if missing:
        raise RecordingError(
            f"montage: electrode(s) {missing} not in the file (as '<name>' or 'EEG <name>-<reference>'); "
            f"it has {list(available)}",
            path=path,
        )
    repeated = {electrode: names for electrode, names in found.items() if len(names) > 1}
    if repeated:
        raise RecordingError(f"montage: electrode(s) found in more than one channel: {repeated}", path=path)
    return {electrode: names[0] for electrode, names in found.items()}


def fit_events(
    events: Sequence[Event], duration: float, rule: str, source: str, path: str | os.PathLike
) -> tuple[list[Event], list[str]]:
    """Apply the module's event rule to ``events`` of a recording lasting ``duration`` seconds.

    Args:
        events: the recording's events, seconds.
        duration: the recording's duration, seconds.
        rule: ``"refuse"`` or ``"clip"`` (see the module's event rule).
        source: where the events come from, for messages.
        path: the recording, for error messages.

    Returns:
        ``(events, warnings)``: the events inside the recording, and one message per event clipped or
        dropped under ``"clip"``.

    Raises:
        RecordingError: ``rule="refuse"`` and some event is past the end.
    """
    kept: list[Event] = []
    past: list[Event] = []
    for event in events:
        if event.onset <= duration and event.offset <= duration + EVENT_SLACK_SECONDS:
            kept.append(Event(event.onset, min(event.offset, duration) - event.onset, event.label))
        else:
            past.append(event)
    if past and rule == "refuse":
        raise RecordingError(
            f"{len(past)} event(s) from {source} start or end after the recording's end at {duration:.3f} s: "
            f"{[(e.onset, e.offset, e.label) for e in past]} (onset, end, label) in seconds; set "
            "events_past_end='clip' to clip them with a warning",
            path=path,
        )
    warnings = []
    for event in past:
        if event.onset <= duration:
            kept.append(Event(event.onset, duration - event.onset, event.label))
            warnings.append(
                f"event {event.label!r} {event.onset}-{event.offset} s from {source} clipped at the recording's "
                f"end, {duration:.3f} s"
            )
        else:
            warnings.append(
                f"event {event.label!r} {event.onset}-{event.offset} s from {source} dropped: it starts after "
                f"the recording's end, {duration:.3f} s"
            )
    return sorted(kept, key=lambda e: (e.onset, e.label)), warnings


def output_sfreq(native: Sequence[float], target_sfreq: float | None, resample: str, path: str | os.PathLike) -> float:
    """Decide the output rate (Hz) for channels with the given native rates (Hz), per the module's rule.

    Raises:
        RecordingError: ``resample="refuse"`` and some native rate differs from the output rate.
    """
    rates = sorted(set(float(rate) for rate in native))
    out = float(target_sfreq) if target_sfreq is not None else rates[-1]
    if resample == "refuse" and any(rate != out for rate in rates):
        if target_sfreq is None:
            reason = f"channels have different sampling rates {rates} Hz"
        else:
            reason = f"sampling rate {rates} Hz differs from target_sfreq={out} Hz"
        raise RecordingError(f"{reason} and resample='refuse'", path=path)
    return out


def resample_factors(from_sfreq: float, to_sfreq: float) -> tuple[int, int]:
    """Rational factors ``(up, down)`` with ``from_sfreq * up / down == to_sfreq``.

    Raises:
        ValueError: the ratio has no small enough fraction (rates given to too many digits).
    """
    source = Fraction(from_sfreq).limit_denominator(_MAX_RATE_DENOMINATOR)
    target = Fraction(to_sfreq).limit_denominator(_MAX_RATE_DENOMINATOR)
    for rate, fraction in ((from_sfreq, source), (to_sfreq, target)):
        if abs(float(fraction) - rate) > _RATE_TOLERANCE * rate:
            raise ValueError(f"sampling rate {rate} Hz is not a ratio of small integers; cannot resample exactly")
    ratio = target / source
    return ratio.numerator, ratio.denominator


def resample(signal: np.ndarray, from_sfreq: float, to_sfreq: float) -> np.ndarray:
    """Resample a time-first signal with an anti-aliased polyphase filter.

    Args:
        signal: ``(n_samples, n_channels)`` at ``from_sfreq`` Hz.
        from_sfreq: its rate, Hz.
        to_sfreq: the wanted rate, Hz.

    Returns:
        float32 ``(ceil(n_samples * up / down), n_channels)`` at ``to_sfreq`` Hz; ``signal`` itself
        when the rates are equal.
    """
    if from_sfreq == to_sfreq:
        return signal
    up, down = resample_factors(from_sfreq, to_sfreq)
    return resample_poly(signal, up, down, axis=0).astype(np.float32, copy=False)


def check_finite(signal: np.ndarray, names: Sequence[str], path: str | os.PathLike) -> None:
    """Raise :class:`RecordingError` naming the first NaN/inf sample (index) and its channel."""
    bad = ~np.isfinite(signal)
    if bad.any():
        sample, column = np.argwhere(bad)[0]
        raise RecordingError(
            f"{int(bad.sum())} NaN/inf sample(s); first at sample {int(sample)} of channel {names[column]!r}",
            path=path,
        )


def flat_channel_warnings(signal: np.ndarray, names: Sequence[str]) -> list[str]:
    """One warning per channel of ``signal`` ``(n_samples, n_channels)`` that holds a single value
    throughout (a disconnected or zeroed electrode: no signal, yet stored and normalised like the others)."""
    flat = np.flatnonzero(np.ptp(signal, axis=0) == 0) if signal.shape[0] else []
    return [f"channel {names[j]!r} is flat: {float(signal[0, j])!r} in every sample" for j in flat]


def check_signal(signal: np.ndarray, n_channels: int | None, path: str | os.PathLike) -> None:
    """Raise :class:`RecordingError` for an empty or all-zero recording or a wrong channel count.

    Args:
        signal: ``(n_samples, n_channels)``.
        n_channels: expected channel count, or ``None`` not to check it.
        path: the file, for error messages.
    """
    if n_channels is not None and signal.shape[1] != n_channels:
        raise RecordingError(f"expected {n_channels} channels, got {signal.shape[1]}", path=path)
    if signal.size == 0:
        raise RecordingError(f"no samples (signal shape {signal.shape})", path=path)
    if not signal.any():
        raise RecordingError("every sample of every channel is zero (an empty or dropped-out recording)", path=path)
