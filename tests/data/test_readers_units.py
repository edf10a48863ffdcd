"""Units and non-EEG channels: only channels in volts are scaled to µV; with no channel list only EEG
channels are kept; a configured channel that is not in volts is refused.

Fixtures are written by edfio (EDF) and MNE (FIF); reference values are the writers' physical values.
"""

import edfio
import mne
import numpy as np
import pytest

from eegseq.data import RecordingError, read_recording

RATE, SECONDS = 256, 4
MICROVOLTS_PER = {"uV": 1.0, "mV": 1e3, "V": 1e6}


def _ramp(scale, rate=RATE):
    return np.sin(np.arange(rate * SECONDS) / 7.0) * scale


def _polysomnography_like(path):
    """EEG in three voltage units beside the non-EEG channels real EDFs carry (TUH, sleep, ICU)."""
    signals = [
        edfio.EdfSignal(_ramp(50), RATE, label="EEG FP1-REF", physical_dimension="uV"),
        edfio.EdfSignal(_ramp(0.05), RATE, label="EEG FP2-REF", physical_dimension="mV"),
        edfio.EdfSignal(_ramp(5e-5), RATE, label="EEG C3-REF", physical_dimension="V"),
        edfio.EdfSignal(np.linspace(95, 99, SECONDS), 1, label="SpO2", physical_dimension="%"),
        edfio.EdfSignal(np.linspace(60, 80, SECONDS), 1, label="HR", physical_dimension="bpm"),
        edfio.EdfSignal(_ramp(3), RATE, label="PHOTIC PH", physical_dimension="mm"),
        edfio.EdfSignal(np.linspace(0, 5, SECONDS), 1, label="IBI", physical_dimension=""),
        edfio.EdfSignal(_ramp(800), RATE, label="ECG EKG", physical_dimension="uV"),
    ]
    edfio.Edf(signals).write(path)
    return {signal.label: signal.data * MICROVOLTS_PER.get(signal.physical_dimension, np.nan) for signal in signals}


def test_no_channel_list_keeps_only_eeg_in_volts_scaled_to_microvolts(tmp_path):
    path = tmp_path / "psg.edf"
    written = _polysomnography_like(path)
    recording = read_recording(path)
    assert recording.channels == ("EEG FP1-REF", "EEG FP2-REF", "EEG C3-REF")
    assert recording.sfreq == RATE  # the 1 Hz channels are gone, nothing was resampled
    reference = np.stack([written[name] for name in recording.channels], axis=1)
    np.testing.assert_allclose(recording.signal, reference, rtol=1e-5, atol=1e-3)
    assert recording.meta["non_eeg_channels"] == [
        "SpO2 (%, eeg)",
        "HR (bpm, eeg)",
        "PHOTIC PH (mm, eeg)",
        "IBI (no unit, eeg)",
        "ECG EKG (uV, ecg)",
    ]


def test_configured_channel_not_in_volts_is_refused(tmp_path):
    path = tmp_path / "psg.edf"
    _polysomnography_like(path)
    with pytest.raises(RecordingError, match=r"SpO2 \(%\).*not in volts"):
        read_recording(path, channels=["EEG FP1-REF", "SpO2"])


def test_configured_non_eeg_channel_in_volts_is_kept_in_microvolts(tmp_path):
    path = tmp_path / "psg.edf"
    written = _polysomnography_like(path)
    recording = read_recording(path, channels=["ECG EKG", "EEG FP1-REF"])
    np.testing.assert_allclose(recording.signal[:, 0], written["ECG EKG"], rtol=1e-5, atol=1e-2)


def test_file_with_no_eeg_channel_names_what_it_has(tmp_path):
    path = tmp_path / "vitals.edf"
    edfio.Edf([edfio.EdfSignal(np.linspace(95, 99, SECONDS), 1, label="SpO2", physical_dimension="%")]).write(path)
    with pytest.raises(RecordingError, match=r"no usable EEG channel.*SpO2 \(%, eeg\)"):
        read_recording(path)


def test_fif_channel_types_and_units_come_from_mne(tmp_path):
    """FIF keeps MNE's types and units: a misc channel (no unit) and a temperature (°C) are not EEG."""
    info = mne.create_info(["Fz", "Cz", "resp", "temp"], RATE, ["eeg", "eeg", "misc", "temperature"])
    data = np.stack([_ramp(40e-6), _ramp(20e-6), _ramp(1.0), 36.6 + _ramp(0.1)])
    path = tmp_path / "raw.fif"
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
    recording = read_recording(path)
    assert recording.channels == ("Fz", "Cz")
    np.testing.assert_allclose(recording.signal, data[:2].T * 1e6, rtol=1e-5, atol=1e-4)
    assert recording.meta["non_eeg_channels"] == ["resp (no unit, misc)", "temp (CEL, temperature)"]
    with pytest.raises(RecordingError, match=r"temp \(CEL\).*not in volts"):
        read_recording(path, channels=["Fz", "temp"])
