"""Readers for every source of README.md ("Preparing real data"), behind one entry point, :func:`read_recording`.

One module per format family: :mod:`.mne_formats` (EDF/EDF+/BDF, FIF, BrainVision, EEGLAB),
:mod:`.kaggle` (Kaggle 2016 and 2014 ``.mat``), :mod:`.annotations` (CHB-MIT summaries, TUSZ
``.csv_bi``, BIDS ``events.tsv``); :mod:`.policy` holds the channel, sampling-rate and signal-check rules
that apply to all of them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from eegseq.data.errors import RecordingError
from eegseq.data.readers.annotations import (
    find_sidecar,
    parse_chbmit_summary,
    parse_csv_bi,
    parse_events_tsv,
    parse_tse,
    read_annotation_file,
)
from eegseq.data.readers.kaggle import open_kaggle_mat
from eegseq.data.readers.mne_formats import mne_suffix, open_mne_file
from eegseq.data.readers.policy import (
    EVENTS_PAST_END,
    RESAMPLE_POLICIES,
    check_finite,
    check_signal,
    electrode_channels,
    fit_events,
    flat_channel_warnings,
    output_sfreq,
    parse_montage,
    select_channels,
)
from eegseq.data.readers.policy import (
    resample as resample_signal,
)
from eegseq.data.readers.source import OpenedFile
from eegseq.data.recording import Event, Recording

__all__ = [
    "read_recording",
    "parse_chbmit_summary",
    "parse_csv_bi",
    "parse_events_tsv",
    "parse_tse",
    "RecordingError",
]


def _open(path: Path) -> OpenedFile:
    if path.name.lower().endswith(".mat"):
        return open_kaggle_mat(path)
    if mne_suffix(path) is not None:
        return open_mne_file(path)
    raise RecordingError(
        "unknown recording format (expected .edf, .bdf, .fif, .fif.gz, .vhdr, .set or .mat)", path=path
    )


def _guarded(path: Path, action, *args):
    """Run a library call; any failure other than a RecordingError becomes one naming the file and cause."""
    try:
        return action(*args)
    except RecordingError:
        raise
    except Exception as exc:
        raise RecordingError(f"cannot read: {type(exc).__name__}: {exc}", path=path) from exc


def read_recording(
    path: str | os.PathLike,
    *,
    channels: list[str] | tuple[str, ...] | None = None,
    target_sfreq: float | None = None,
    resample: Literal["polyphase", "refuse"] = "polyphase",
    n_channels: int | None = None,
    annotations: str | os.PathLike | Sequence[Event] | None = "auto",
    events_past_end: Literal["refuse", "clip"] = "refuse",
    montage: Sequence[str] | None = None,
) -> Recording:
    """Read one recording file into a :class:`~eegseq.data.recording.Recording`.

    The reader is chosen by the file's suffix: ``.edf``, ``.bdf``, ``.fif``/``.fif.gz``, ``.vhdr``,
    ``.set`` through MNE (lazily: only the selected channels are converted), ``.mat`` as a Kaggle 2016
    or 2014 segment. Channel and rate rules are in :mod:`eegseq.data.readers.policy`.

    Args:
        path: the recording file.
        channels: channel names to keep, in output column order (each must be in volts); ``None`` keeps
            every EEG channel in file order (see :mod:`eegseq.data.readers.policy` for the rule).
        target_sfreq: output sampling rate, Hz; ``None`` keeps the native rate.
        resample: ``"polyphase"`` resamples any channel whose native rate differs from the output rate
            (:func:`scipy.signal.resample_poly`); ``"refuse"`` raises instead.
        n_channels: expected number of output channels, or ``None`` not to check.
        annotations: where events come from besides those stored in the file. ``"auto"``: an annotation
            file beside the recording (see :func:`~eegseq.data.readers.annotations.find_sidecar`),
            if there is one; a path: that ``.csv_bi``, ``.tse_bi``, ``.tse``, ``*_events.tsv`` or CHB-MIT
            ``*-summary.txt``; a list of :class:`~eegseq.data.recording.Event`: these (e.g. from a manifest's
            events table); ``None``: none. Events from an annotation file or a list replace the events stored
            in the recording. A ``.csv_bi`` stating another duration than the recording's is refused.
        events_past_end: ``"refuse"`` or ``"clip"`` events past the recording's end (the event rule of
            :mod:`eegseq.data.readers.policy`).
        montage: bipolar derivations ``["FP1-F7", ...]`` to output instead of the file's channels, each
            computed from the file's referential channels whatever their reference (the montage rule of
            :mod:`eegseq.data.readers.policy`); exclusive with ``channels``.

    Returns:
        ``signal`` float32 ``(n_samples, n_channels)`` in µV, ``sfreq`` in Hz, ``channels``, ``events``
        (seconds), ``label`` (Kaggle files), ``source`` (the path) and ``meta`` (source facts, plus
        ``warnings``: flat channels, events clipped or dropped; ``dropped_channels``, ``non_eeg_channels``,
        ``native_sfreq``: the native rate of each output channel, Hz; ``annotation_file`` when one was used).

    Raises:
        RecordingError: the file (or its annotation file) is missing, unreadable, truncated or corrupt;
            a configured channel is missing; rates differ and ``resample="refuse"``; NaN/inf samples;
            an all-zero signal; a channel count other than ``n_channels``; events past the end (``"refuse"``);
            an annotation file of another duration.
        ValueError: an invalid option.
    """
    if montage is not None and channels is not None:
        raise ValueError("give channels or montage, not both")
    if events_past_end not in EVENTS_PAST_END:
        raise ValueError(f"events_past_end must be one of {EVENTS_PAST_END}, got {events_past_end!r}")
    if resample not in RESAMPLE_POLICIES:
        raise ValueError(f"resample must be one of {RESAMPLE_POLICIES}, got {resample!r}")
    if target_sfreq is not None and not target_sfreq > 0:
        raise ValueError(f"target_sfreq must be a positive rate in Hz or None, got {target_sfreq!r}")
    path = Path(path)
    if not path.is_file():
        raise RecordingError("no such file", path=path)

    opened = _guarded(path, _open, path)
    if montage is None:
        names, non_eeg = select_channels(opened, channels, path)
    else:
        pairs = parse_montage(montage)
        electrodes = list(dict.fromkeys(electrode for pair in pairs for electrode in pair))
        source_of = electrode_channels(opened.channels, electrodes, path)
        names, non_eeg = select_channels(opened, [source_of[electrode] for electrode in electrodes], path)
    native = dict(zip(opened.channels, opened.sfreqs))
    sfreq = output_sfreq([native[name] for name in names], target_sfreq, resample, path)

    groups: dict[float, list[str]] = defaultdict(list)
    for name in names:
        groups[native[name]].append(name)
    columns: dict[str, np.ndarray] = {}
    for rate, group in groups.items():
        block = _guarded(path, opened.read, group)
        check_finite(block, group, path)
        block = _guarded(path, resample_signal, block, rate, sfreq)
        columns.update((name, block[:, j]) for j, name in enumerate(group))
    # Channels resampled from different rates may differ by a sample in length (rounding up).
    n_samples = min(column.shape[0] for column in columns.values()) if columns else 0
    signal = np.empty((n_samples, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        signal[:, j] = columns[name][:n_samples]
    if montage is not None:
        column = {electrode: names.index(source_of[electrode]) for electrode in electrodes}
        signal = np.stack([signal[:, column[a]] - signal[:, column[b]] for a, b in pairs], axis=1)
        names = [f"{a}-{b}" for a, b in pairs]
        native = {f"{a}-{b}": native[source_of[a]] for a, b in pairs}
    check_signal(signal, n_channels, path)

    events, meta = opened.events, dict(opened.meta)
    duration = n_samples / sfreq
    source = "the file itself"
    if isinstance(annotations, Sequence) and not isinstance(annotations, str):
        events, source = list(annotations), "the events given"
    elif (annotation_file := find_sidecar(path) if annotations == "auto" else annotations) is not None:
        annotation_file = Path(annotation_file)
        if not annotation_file.is_file():
            raise RecordingError("annotation file does not exist", path=annotation_file)
        events = _guarded(annotation_file, read_annotation_file, annotation_file, path, duration)
        source = meta["annotation_file"] = str(annotation_file)
    events, event_warnings = fit_events(events, duration, events_past_end, source, path)

    meta.update(
        warnings=flat_channel_warnings(signal, names) + event_warnings,
        dropped_channels=opened.dropped_channels,
        non_eeg_channels=non_eeg,
        native_sfreq=[native[name] for name in names],
    )
    return Recording(signal, sfreq, tuple(names), list(events), opened.label, str(path), meta)
