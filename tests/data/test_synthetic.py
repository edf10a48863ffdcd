"""Synthetic recordings: determinism from (seed, index) and the properties eegseq/data/synthetic.py promises."""

import hashlib
import json

import numpy as np
import pytest
from scipy.signal import welch

from eegseq.data.synthetic import (
    EVIDENCE_LABEL,
    SCORE_LABEL,
    SEIZURE_LABEL,
    SyntheticSpec,
    generate_recording,
    plan_recording,
    source_sha256,
)

SPEC = SyntheticSpec(n_subjects=2, recordings_per_subject=4, n_samples=48_000, dropouts_per_recording=2.0)


def test_same_seed_and_index_give_identical_recordings_in_any_order():
    later_first = generate_recording(SPEC, 5)
    for index in range(5):
        generate_recording(SPEC, index)
    again = generate_recording(SPEC, 5)
    np.testing.assert_array_equal(later_first.signal, again.signal)
    assert later_first.events == again.events and later_first.label == again.label
    other_seed = generate_recording(SPEC.model_copy(update={"seed": 1}), 5)
    assert not np.array_equal(other_seed.signal, later_first.signal)
    assert source_sha256(SPEC, 5) != source_sha256(SPEC, 4)


def test_shape_units_and_defaults():
    default = SyntheticSpec()
    assert (default.n_samples, default.n_channels, default.sfreq) == (240_000, 16, 400.0)
    rec = generate_recording(SPEC, 0)
    assert rec.signal.shape == (48_000, 16) and rec.signal.dtype == np.float32
    assert np.isfinite(rec.signal).all()
    assert 5.0 < np.median(rec.signal.std(axis=0)) < 100.0  # microvolt scale of scalp EEG


def test_seizures_lie_inside_the_signal_and_raise_power_on_some_channels():
    seizure_recordings = [i for i in range(SPEC.n_recordings) if plan_recording(SPEC, i).label == 1]
    assert seizure_recordings, "seed should give at least one seizure recording"
    for index in seizure_recordings:
        rec = generate_recording(SPEC, index)
        (event,) = rec.events
        assert event.label == SEIZURE_LABEL
        assert event.onset >= 0 and event.offset <= rec.duration
        a, b = int(event.onset * rec.sfreq), int(event.offset * rec.sfreq)
        inside = rec.signal[a:b][np.any(rec.signal[a:b] != 0, axis=1)]
        outside = np.concatenate([rec.signal[:a], rec.signal[b:]])
        outside = outside[np.any(outside != 0, axis=1)]
        assert (inside.std(axis=0) / outside.std(axis=0)).max() > 2.0
    no_seizure = [i for i in range(SPEC.n_recordings) if i not in seizure_recordings]
    assert all(generate_recording(SPEC, i).events == [] for i in no_seizure[:2])


def test_dropouts_are_exact_zero_runs_on_every_channel():
    runs = 0
    for index in range(SPEC.n_recordings):
        plan = plan_recording(SPEC, index)
        rec = generate_recording(SPEC, index)
        all_zero = ~np.any(rec.signal != 0, axis=1)
        expected = np.zeros(SPEC.n_samples, bool)
        for start, length in plan.dropouts:
            expected[start : start + length] = True
        np.testing.assert_array_equal(all_zero, expected)
        runs += len(plan.dropouts)
    assert runs > 0


def test_background_is_one_over_f_with_line_noise_and_correlated_neighbours():
    rec = generate_recording(SPEC, 1)
    freqs, power = welch(rec.signal, fs=rec.sfreq, nperseg=2048, axis=0)
    mean_power = power.mean(axis=1)
    at = lambda f: mean_power[np.argmin(np.abs(freqs - f))]  # noqa: E731
    assert at(2.0) > 10 * at(40.0)
    assert at(SPEC.line_freq) > 3 * at(SPEC.line_freq - 3)
    corr = np.corrcoef(rec.signal.T)
    neighbours = np.mean([corr[c, c + 1] for c in range(15)])
    far = np.mean([corr[c, c + 8] for c in range(8)])
    assert neighbours > far + 0.2


def test_long_memory_evidence_early_encodes_the_label_and_is_scored_late():
    spec = SPEC.model_copy(update={"variant": "long_memory", "dropouts_per_recording": 3.0})
    labels = set()
    for index in range(spec.n_recordings):
        rec = generate_recording(spec, index)
        evidence = next(e for e in rec.events if e.label == EVIDENCE_LABEL)
        score = next(e for e in rec.events if e.label == SCORE_LABEL)
        assert evidence.offset <= 0.1 * rec.duration + 1e-9 and score.onset >= 0.9 * rec.duration - 1e-9
        a, b = int(evidence.onset * rec.sfreq), int(evidence.offset * rec.sfreq)
        assert np.all(np.any(rec.signal[a:b] != 0, axis=1)), "a drop-out erased the evidence"
        freqs, power = welch(rec.signal[a:b], fs=rec.sfreq, nperseg=b - a, axis=0)
        band = lambda f, power=power, freqs=freqs: power[(freqs > f - 1) & (freqs < f + 1)].sum()  # noqa: E731
        assert (band(13.0) > band(7.0)) == bool(rec.label)
        labels.add(rec.label)
    assert labels == {0, 1}


def test_index_outside_the_spec_is_refused():
    with pytest.raises(ValueError, match="index 8"):
        generate_recording(SPEC, 8)


@pytest.mark.parametrize("variant", ["long_memory", "delayed_recall"])
def test_the_cue_is_a_hann_burst_of_cue_uv_on_the_labels_half_of_the_channels(variant):
    """Two specs that differ only in ``cue_uv`` share every other sample: their difference is the cue
    (and, for delayed recall, the distractors) at the difference of amplitudes, written out here."""
    fields = {"variant": variant, "score_seconds": 30.0} if variant == "delayed_recall" else {"variant": variant}
    strong, weak = (SPEC.model_copy(update={**fields, "cue_uv": uv}) for uv in (100.0, 60.0))
    for index in range(strong.n_recordings):
        plan = plan_recording(strong, index)
        difference = generate_recording(strong, index).signal - generate_recording(weak, index).signal
        start, length = plan.evidence
        t = np.arange(length) / strong.sfreq
        burst = 40.0 * np.hanning(length) * np.sin(2 * np.pi * (13.0 if plan.label else 7.0) * t)
        half = strong.n_channels // 2
        cued = slice(half, None) if plan.label else slice(0, half)
        expected = np.zeros_like(difference)
        expected[start : start + length, cued] = burst[:, None]
        for d_start, d_length in plan.distractors:
            d_t = np.arange(d_length) / strong.sfreq
            expected[d_start : d_start + d_length] += (40.0 * np.hanning(d_length) * np.sin(2 * np.pi * 10.0 * d_t))[
                :, None
            ]
        for z_start, z_length in plan.dropouts:  # drop-outs zero whatever lies under them
            expected[z_start : z_start + z_length] = 0.0
        np.testing.assert_allclose(difference, expected, atol=1e-4)


def test_cue_uv_is_refused_for_seizures_and_changes_only_memory_datasets_identity():
    with pytest.raises(ValueError, match="cue_uv"):
        SyntheticSpec(cue_uv=50.0)
    memory = SPEC.model_copy(update={"variant": "long_memory"})
    assert source_sha256(memory, 0) != source_sha256(memory.model_copy(update={"cue_uv": 50.0}), 0)
    # The seizure default keeps the identity it had before memory cues had an amplitude or a layout:
    # SHA-256 of the canonical JSON of its spec and index, computed here independently.
    description = {"spec": SPEC.model_dump(mode="json", exclude_none=True), "index": 3}
    assert source_sha256(SPEC, 3) == hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()
    assert "cue_uv" not in description["spec"]
