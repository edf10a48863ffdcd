"""FIF, BrainVision and EEGLAB files written by MNE's own writers (raw.save, mne.export) read back."""

import mne
import numpy as np
import pytest

from eegseq.data import RecordingError, read_recording

SFREQ = 250.0
NAMES = ["Fz", "Cz", "Pz", "Oz"]


@pytest.fixture(scope="module")
def source():
    """A RawArray in volts (MNE's unit), with one annotation, and its data in µV, time first."""
    rng = np.random.default_rng(7)
    volts = rng.normal(scale=40e-6, size=(len(NAMES), int(SFREQ * 6)))
    raw = mne.io.RawArray(volts, mne.create_info(NAMES, SFREQ, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(onset=[1.5], duration=[2.0], description=["sz"]))
    return raw, (volts * 1e6).T


def write(raw, path):
    if path.suffix == ".fif":
        raw.save(path, verbose="error")
    else:
        mne.export.export_raw(path, raw, verbose="error")
    return path


# BrainVision markers are "type/description"; MNE's exporter writes annotations as comments.
@pytest.mark.parametrize(("name", "label"), [("rec_raw.fif", "sz"), ("rec.vhdr", "Comment/sz"), ("rec.set", "sz")])
def test_mne_written_file_reads_back(tmp_path, source, name, label):
    raw, microvolts = source
    path = write(raw, tmp_path / name)
    rec = read_recording(path)
    assert rec.channels == tuple(NAMES)
    assert rec.sfreq == SFREQ
    assert rec.signal.dtype == np.float32
    # FIF stores float32 and BrainVision/EEGLAB exports float32 samples: equal to float32 precision.
    np.testing.assert_allclose(rec.signal, microvolts, rtol=1e-6, atol=1e-6 * np.abs(microvolts).max())
    seizures = [event for event in rec.events if event.label == label]
    assert [(e.onset, e.duration) for e in seizures] == [pytest.approx((1.5, 2.0))]


def test_fif_selection_resampled(tmp_path, source):
    raw, microvolts = source
    path = write(raw, tmp_path / "sel_raw.fif")
    rec = read_recording(path, channels=["Oz", "Fz"], target_sfreq=500)
    assert rec.channels == ("Oz", "Fz")
    assert rec.sfreq == 500
    assert rec.n_samples == 2 * microvolts.shape[0]
    # Every other output sample sits on an input sample; compare away from the filter's edge effects.
    middle = slice(100, -100)
    np.testing.assert_allclose(rec.signal[::2][middle], microvolts[:, [3, 0]][middle], atol=0.2 * microvolts.std())


def test_fif_refuse_other_rate(tmp_path, source):
    path = write(source[0], tmp_path / "r_raw.fif")
    with pytest.raises(RecordingError, match=r"r_raw\.fif.*250\.0\] Hz differs from target_sfreq=500"):
        read_recording(path, target_sfreq=500, resample="refuse")


def test_truncated_fif(tmp_path, source):
    path = write(source[0], tmp_path / "cut_raw.fif")
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(RecordingError, match=r"cut_raw\.fif.*cannot read"):
        read_recording(path)


def test_unknown_suffix(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(RecordingError, match=r"notes\.txt.*unknown recording format"):
        read_recording(path)
