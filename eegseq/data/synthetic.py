"""Synthetic EEG recordings, deterministic from a seed (the embedded default dataset).

A synthetic dataset is defined by a small :class:`SyntheticSpec`. Recording ``index`` of a
spec is generated from its own ``numpy.random.Generator`` seeded with ``(spec.seed, index)``,
so any recording can be regenerated alone, in any order, in any process.

Each recording is a float32 ``(n_samples, n_channels)`` array in microvolts made of:

* background: per-source 1/f^beta noise with alpha (8-12 Hz) and beta (16-24 Hz) rhythms,
  shaped in the frequency domain (one inverse FFT per recording);
* correlated channels: the sources are mixed into channels by a banded mixing matrix
  (neighbouring channels share sources);
* line noise at ``spec.line_freq``;
* artifacts: eye blinks (slow, large, frontal channels) and muscle bursts (broadband);
* electrode drop-outs: runs of exact zeros across all channels;
* variant ``"seizure"``: with probability ``spec.seizure_probability`` one seizure, an
  evolving rhythmic spike-wave discharge (about 5 Hz slowing to 2.5 Hz, growing amplitude)
  on a contiguous subset of channels, labelled as an :class:`Event` ``"sz"``; the recording
  label is 1 when it has a seizure, else 0;
* variant ``"long_memory"``: the label (0/1) is only visible in a 2 s cue in the first tenth of
  the recording (event ``"evidence"``): a burst at 7 Hz on the first half of the channels for 0,
  at 13 Hz on the second half for 1, of peak ``spec.cue_uv`` µV (default 12); it is scored only in
  the last tenth (event ``"score"``): a model must carry memory across the recording.
* variant ``"delayed_recall"``: the same cue (event ``"evidence"``) anywhere before the scored span,
  which is the last ``spec.score_seconds`` of the recording (event ``"score"``; set it to the stream
  window so that exactly the last window is scored); distractor bursts at 10 Hz on every channel
  (Poisson, mean 2) carry no information. How many windows separate the cue from the score varies
  uniformly across recordings, so accuracy against that separation measures how long a model
  retains memory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from eegseq.data.recording import Event, Recording

SEIZURE_LABEL = "sz"
EVIDENCE_LABEL = "evidence"
SCORE_LABEL = "score"

# Amplitudes in microvolts; typical scalp-EEG magnitudes.
_BACKGROUND_UV = 20.0
_BLINK_UV = 120.0
_MUSCLE_UV = 15.0
_SEIZURE_UV = (120.0, 360.0)  # start and peak amplitude of the discharge
_DEFAULT_CUE_UV = 12.0
_CUE_LAYOUT = 2  # version of the memory cue's layout (1: every channel; 2: half of the channels by label)
_EVIDENCE_SECONDS = 2.0
_DISTRACTOR_HZ = 10.0
_DISTRACTORS_PER_RECORDING = 2.0


class SyntheticSpec(BaseModel):
    """Definition of a synthetic dataset: everything needed to regenerate it bit for bit.

    Recordings are numbered ``0 .. n_subjects * recordings_per_subject - 1``; recording
    ``i`` belongs to subject ``i // recordings_per_subject``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, ge=0, description="dataset seed")
    n_subjects: int = Field(4, ge=1)
    recordings_per_subject: int = Field(6, ge=1)
    n_samples: int = Field(240_000, ge=400, description="samples per recording")
    sfreq: float = Field(400.0, gt=0, description="sampling rate, Hz")
    n_channels: int = Field(16, ge=2)
    seizure_probability: float = Field(
        0.5, ge=0, le=1, description="probability of a seizure (variant 'seizure') or of label 1 ('long_memory')"
    )
    dropouts_per_recording: float = Field(1.0, ge=0, description="mean number of drop-out runs (Poisson)")
    line_freq: float = Field(60.0, gt=0, description="mains frequency, Hz")
    variant: Literal["seizure", "long_memory", "delayed_recall"] = "seizure"
    hour_size: int = Field(
        6, ge=1, description="consecutive recordings of a subject forming one group (like Kaggle hours)"
    )
    score_seconds: float | None = Field(
        None, gt=0, description="'delayed_recall' only: the scored span at the end of each recording, s"
    )
    # None (not 12.0) as the default keeps the identity (source SHA-256) of datasets made before the field.
    cue_uv: float | None = Field(
        None, gt=0, description="peak amplitude of the memory cue and distractor bursts, µV (default 12)"
    )

    @model_validator(mode="after")
    def _recall_fits(self):
        if self.variant != "delayed_recall":
            if self.score_seconds is not None:
                raise ValueError("score_seconds is only valid with variant='delayed_recall'")
            if self.cue_uv is not None and self.variant == "seizure":
                raise ValueError("cue_uv is only valid with variant='long_memory' or 'delayed_recall'")
            return self
        if self.score_seconds is None:
            raise ValueError("variant='delayed_recall' needs score_seconds (the scored span, e.g. the stream window)")
        if (self.score_seconds + 2 * _EVIDENCE_SECONDS) * self.sfreq > self.n_samples:
            raise ValueError(
                f"score_seconds={self.score_seconds} leaves no room for the cue before it in "
                f"n_samples={self.n_samples} at sfreq={self.sfreq}"
            )
        return self

    @property
    def n_recordings(self) -> int:
        return self.n_subjects * self.recordings_per_subject

    def subject_of(self, index: int) -> str:
        return f"S{index // self.recordings_per_subject:02d}"

    def group_of(self, index: int) -> str:
        within = index % self.recordings_per_subject
        return f"{self.subject_of(index)}-h{within // self.hour_size}"

    def recording_id(self, index: int) -> str:
        within = index % self.recordings_per_subject
        return f"synth{self.seed}-{self.subject_of(index)}-r{within:03d}"


def channel_names(n_channels: int) -> tuple[str, ...]:
    """Channel names ``ch00 .. ch{n-1}``; the first quarter are the 'frontal' ones (blinks)."""
    return tuple(f"ch{c:02d}" for c in range(n_channels))


def _rng(spec: SyntheticSpec, index: int, stream: int) -> np.random.Generator:
    """Generator ``stream`` of recording ``index`` (0: the plan, 1: the samples)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([spec.seed, index, stream])))


@dataclass(frozen=True)
class RecordingPlan:
    """What recording ``index`` of a spec contains, drawn without generating its samples.

    Spans are ``(start, length)`` in samples.
    """

    label: int
    events: tuple[Event, ...]
    seizure: tuple[int, int] | None
    evidence: tuple[int, int] | None
    dropouts: tuple[tuple[int, int], ...]
    distractors: tuple[tuple[int, int], ...] = ()


def plan_recording(spec: SyntheticSpec, index: int) -> RecordingPlan:
    """Draw label, seizure / evidence spans, events and drop-out runs of recording ``index`` (cheap)."""
    if not 0 <= index < spec.n_recordings:
        raise ValueError(f"recording index {index} outside 0..{spec.n_recordings - 1} of the synthetic spec")
    rng = _rng(spec, index, 0)
    n, fs = spec.n_samples, spec.sfreq
    label = int(rng.random() < spec.seizure_probability)
    seizure = evidence = None
    events: list[Event] = []
    protected_until = 0  # drop-outs must not erase the long-memory evidence
    if spec.variant == "seizure" and label:
        length = min(int(rng.uniform(15.0, 60.0) * fs), n // 2)
        seizure = (int(rng.integers(0, n - length + 1)), length)
        events.append(Event(onset=seizure[0] / fs, duration=length / fs, label=SEIZURE_LABEL))
    elif spec.variant == "long_memory":
        length = min(int(2.0 * fs), max(1, n // 20))
        evidence = (int(rng.integers(0, max(1, n // 10 - length) + 1)), length)
        protected_until = evidence[0] + length
        score_onset = 0.9 * n / fs
        events += [
            Event(onset=evidence[0] / fs, duration=length / fs, label=EVIDENCE_LABEL),
            Event(onset=score_onset, duration=n / fs - score_onset, label=SCORE_LABEL),
        ]
    distractors = []
    if spec.variant == "delayed_recall":
        length = int(_EVIDENCE_SECONDS * fs)
        score = int(round(spec.score_seconds * fs))
        evidence = (int(rng.integers(0, n - score - length + 1)), length)
        protected_until = evidence[0] + length
        events += [
            Event(onset=evidence[0] / fs, duration=length / fs, label=EVIDENCE_LABEL),
            Event(onset=(n - score) / fs, duration=score / fs, label=SCORE_LABEL),
        ]
        for _ in range(rng.poisson(_DISTRACTORS_PER_RECORDING)):
            distractors.append((int(rng.integers(0, n - length + 1)), length))
    dropouts = []
    for _ in range(rng.poisson(spec.dropouts_per_recording)):
        length = min(int(rng.uniform(0.5, 4.0) * fs), (n - protected_until) // 4)
        if length > 0:
            dropouts.append((int(rng.integers(protected_until, n - length + 1)), length))
    return RecordingPlan(label, tuple(events), seizure, evidence, tuple(dropouts), tuple(distractors))


def generate_recording(spec: SyntheticSpec, index: int) -> Recording:
    """Generate recording ``index`` of ``spec`` (0-based, < ``spec.n_recordings``).

    Returns:
        A :class:`Recording` with ``signal`` float32 ``(spec.n_samples, spec.n_channels)`` in µV,
        events in seconds (those of :func:`plan_recording`), ``label`` 0/1, and ``meta`` with
        subject, group, index, variant and seed.
    """
    plan = plan_recording(spec, index)
    cue_uv = _DEFAULT_CUE_UV if spec.cue_uv is None else spec.cue_uv
    rng = _rng(spec, index, 1)
    n, fs, n_ch = spec.n_samples, spec.sfreq, spec.n_channels
    signal = _mix_channels(_background_sources(rng, n, fs, n_ch), rng)
    signal += _line_noise(rng, np.arange(n) / fs, n_ch, spec.line_freq)
    _add_blinks(rng, signal, fs)
    _add_muscle(rng, signal, fs)
    if plan.seizure is not None:
        _add_seizure(rng, signal, fs, *plan.seizure)
    if plan.evidence is not None:
        _add_evidence(signal, fs, *plan.evidence, plan.label, cue_uv)
    for start, length in plan.distractors:
        _add_burst(signal, fs, start, length, _DISTRACTOR_HZ, cue_uv)
    for start, length in plan.dropouts:
        signal[start : start + length] = 0.0
    meta = {
        "subject": spec.subject_of(index),
        "group": spec.group_of(index),
        "index": index,
        "variant": spec.variant,
        "seed": spec.seed,
    }
    return Recording(
        signal=signal.astype(np.float32),
        sfreq=fs,
        channels=channel_names(n_ch),
        events=list(plan.events),
        label=plan.label,
        source=f"synthetic:seed={spec.seed},index={index},variant={spec.variant}",
        meta=meta,
    )


def source_sha256(spec: SyntheticSpec, index: int) -> str:
    """The 'source SHA-256' of generated recording ``index``: SHA-256 of the canonical JSON of the
    spec and the index. It identifies what was generated (so an ingest can resume) without
    depending on floating-point details of the generated samples."""
    # Unset optional fields are left out, so adding one does not change existing datasets' identity.
    description = {"spec": spec.model_dump(mode="json", exclude_none=True), "index": index}
    if spec.variant != "seizure":
        # The memory cue moved from every channel to half of them: stores made before are regenerated.
        description["cue_layout"] = _CUE_LAYOUT
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


def _background_sources(rng: np.random.Generator, n: int, fs: float, n_src: int) -> np.ndarray:
    """1/f^beta noise plus alpha and beta rhythms, ``(n, n_src)`` float64, µV."""
    freqs = np.fft.rfftfreq(n, d=1.0 / fs)
    f = np.maximum(freqs, 0.5)[:, None]  # floor avoids the DC singularity
    exponent = rng.uniform(1.0, 2.0, size=n_src)  # power ~ 1/f^exponent
    alpha_f = rng.uniform(8.0, 12.0, size=n_src)
    beta_f = rng.uniform(16.0, 24.0, size=n_src)
    alpha_gain = rng.uniform(0.0, 1.5, size=n_src)
    beta_gain = rng.uniform(0.0, 0.4, size=n_src)
    amplitude = (
        f ** (-exponent / 2)
        + alpha_gain * np.exp(-0.5 * ((f - alpha_f) / 1.0) ** 2)
        + beta_gain * np.exp(-0.5 * ((f - beta_f) / 2.0) ** 2)
    )
    amplitude[0] = 0.0  # zero mean
    spectrum = amplitude * (rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape))
    sources = np.fft.irfft(spectrum, n=n, axis=0)
    sources *= _BACKGROUND_UV / np.maximum(sources.std(axis=0), 1e-12)
    return sources


def _mix_channels(sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mix ``(n, n_src)`` sources into as many channels with a banded random matrix, so that
    neighbouring channels correlate (volume conduction)."""
    n_src = sources.shape[1]
    distance = np.abs(np.subtract.outer(np.arange(n_src), np.arange(n_src)))
    mixing = np.exp(-distance / 1.5) * rng.uniform(0.5, 1.0, size=(n_src, n_src))
    mixing /= np.sqrt((mixing**2).sum(axis=0, keepdims=True))
    return sources @ mixing


def _line_noise(rng: np.random.Generator, t: np.ndarray, n_ch: int, line_freq: float) -> np.ndarray:
    amplitude = rng.uniform(0.5, 4.0, size=n_ch)
    phase = rng.uniform(0, 2 * np.pi, size=n_ch)
    return amplitude * np.sin(2 * np.pi * line_freq * t[:, None] + phase)


def _add_blinks(rng: np.random.Generator, signal: np.ndarray, fs: float) -> None:
    """Eye blinks: ~0.4 s Gaussian deflections, strongest on the first (frontal) channels."""
    n, n_ch = signal.shape
    count = rng.poisson(n / fs / 30.0)  # about two a minute
    width = int(0.1 * fs)
    kernel = np.exp(-0.5 * (np.arange(-4 * width, 4 * width + 1) / width) ** 2)
    spatial = np.exp(-np.arange(n_ch) / max(n_ch / 4, 1.0))
    for centre in rng.integers(0, n, size=count):
        lo, hi = max(0, centre - 4 * width), min(n, centre + 4 * width + 1)
        shape = kernel[lo - (centre - 4 * width) : hi - (centre - 4 * width)]
        signal[lo:hi] += _BLINK_UV * rng.uniform(0.6, 1.2) * shape[:, None] * spatial


def _add_muscle(rng: np.random.Generator, signal: np.ndarray, fs: float) -> None:
    """Muscle artifacts: 1-3 s bursts of differentiated white noise on a few channels."""
    n, n_ch = signal.shape
    for _ in range(rng.poisson(n / fs / 120.0)):
        length = min(n, int(rng.uniform(1.0, 3.0) * fs))
        start = int(rng.integers(0, n - length + 1))
        channels = rng.choice(n_ch, size=int(rng.integers(1, max(2, n_ch // 4) + 1)), replace=False)
        burst = np.diff(rng.standard_normal((length + 1, channels.size)), axis=0)
        signal[start : start + length, channels] += _MUSCLE_UV * np.hanning(length)[:, None] * burst


def _spike_wave(phase: np.ndarray) -> np.ndarray:
    """One spike-wave complex per cycle of ``phase`` (radians): a sharp spike then a slow wave."""
    theta = np.mod(phase, 2 * np.pi)
    spike = np.exp(-0.5 * ((theta - 0.4) / 0.15) ** 2)
    wave = -0.6 * np.exp(-0.5 * ((theta - 2.6) / 0.7) ** 2)
    return spike + wave


def _add_seizure(rng: np.random.Generator, signal: np.ndarray, fs: float, start: int, length: int) -> None:
    """Add an evolving spike-wave discharge on ``[start, start + length)`` on a contiguous block of channels."""
    n_ch = signal.shape[1]
    progress = np.arange(length) / length  # 0 -> 1 across the seizure
    freq = 5.0 - 2.5 * progress + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * np.arange(length) / fs)
    phase = 2 * np.pi * np.cumsum(freq) / fs + rng.uniform(0, 2 * np.pi)
    ramp = np.clip(np.minimum(progress / 0.2, (1 - progress) / 0.05), 0.0, 1.0)
    amplitude = ramp * (_SEIZURE_UV[0] + (_SEIZURE_UV[1] - _SEIZURE_UV[0]) * progress)
    width = int(rng.integers(max(2, n_ch // 5), max(3, n_ch // 2) + 1))
    first = int(rng.integers(0, n_ch - width + 1))
    gains = rng.uniform(0.6, 1.0, size=width) * np.hanning(width + 2)[1:-1]
    signal[start : start + length, first : first + width] += (amplitude * _spike_wave(phase))[:, None] * gains


def _add_evidence(signal: np.ndarray, fs: float, start: int, length: int, label: int, peak_uv: float) -> None:
    """Long-memory cue: a Hann-windowed burst at 7 Hz on the first half of the channels (label 0) or
    at 13 Hz on the second half (label 1)."""
    half = signal.shape[1] // 2
    channels = slice(half, None) if label else slice(0, half)
    _add_burst(signal[:, channels], fs, start, length, 13.0 if label else 7.0, peak_uv)


def _add_burst(signal: np.ndarray, fs: float, start: int, length: int, freq: float, peak_uv: float) -> None:
    """A Hann-windowed sine burst at ``freq`` Hz and ``peak_uv`` µV peak on every channel."""
    t = np.arange(length) / fs
    burst = peak_uv * np.hanning(length) * np.sin(2 * np.pi * freq * t)
    signal[start : start + length] += burst[:, None]
