"""The delayed-recall task: a cue anywhere before the scored last window, separations that vary."""

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.signal import welch

from eegseq.data.synthetic import EVIDENCE_LABEL, SCORE_LABEL, SyntheticSpec, generate_recording, source_sha256

SPEC = SyntheticSpec(
    seed=1, n_subjects=4, recordings_per_subject=4, n_samples=24_000, sfreq=100.0, n_channels=4,
    variant="delayed_recall", score_seconds=40.0, dropouts_per_recording=2.0,
)  # fmt: skip


def band(signal, sfreq, freq):
    freqs, power = welch(signal, fs=sfreq, nperseg=len(signal), axis=0)
    return power[(freqs > freq - 1) & (freqs < freq + 1)].sum()


def test_cue_encodes_the_label_before_the_scored_window():
    window = int(SPEC.score_seconds * SPEC.sfreq)
    labels, separations = set(), set()
    for index in range(SPEC.n_recordings):
        rec = generate_recording(SPEC, index)
        evidence = next(e for e in rec.events if e.label == EVIDENCE_LABEL)
        score = next(e for e in rec.events if e.label == SCORE_LABEL)
        assert score.onset == pytest.approx(rec.duration - SPEC.score_seconds) and score.offset == pytest.approx(
            rec.duration
        )
        assert evidence.offset <= score.onset + 1e-9
        a, b = round(evidence.onset * rec.sfreq), round(evidence.offset * rec.sfreq)
        assert np.all(np.any(rec.signal[a:b] != 0, axis=1)), "a drop-out erased the cue"
        assert (band(rec.signal[a:b], rec.sfreq, 13.0) > band(rec.signal[a:b], rec.sfreq, 7.0)) == bool(rec.label)
        labels.add(rec.label)
        separations.add(SPEC.n_samples // window - 1 - (b - 1) // window)
    assert labels == {0, 1}
    assert len(separations) >= 3  # 6 windows: the cue lands 1..5 windows before the score


def test_new_fields_leave_seizure_datasets_identity_alone_and_the_new_cue_layout_changes_memory_ones():
    """Hashes computed before score_seconds and cue_uv existed (an unset field is left out of the identity).
    The memory variants' cue moved to half of the channels, so their stores made before must not be
    reused: their identity differs from the one computed before."""
    assert source_sha256(SyntheticSpec(), 0) == "92eafeee708614c39e45baf0b938b3902bd1d03bf061088724b620b0112f3c77"
    assert (
        source_sha256(SyntheticSpec(variant="long_memory", seed=3), 5)
        != "8de8da85fbf8efa52fcf1ade1a2afdc49721b0882f7562dc7648575332d9583f"
    )


def test_score_seconds_is_checked():
    with pytest.raises(ValidationError, match="needs score_seconds"):
        SyntheticSpec(variant="delayed_recall")
    with pytest.raises(ValidationError, match="only valid with variant='delayed_recall'"):
        SyntheticSpec(score_seconds=10.0)
    with pytest.raises(ValidationError, match="leaves no room"):
        SyntheticSpec(variant="delayed_recall", score_seconds=599.0)
