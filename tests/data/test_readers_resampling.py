"""Sampling-rate policy: polyphase resampling against analytic sines, and refusal."""

import edfio
import numpy as np
import pytest

from eegseq.data import RecordingError, read_recording

AMPLITUDE_UV = 100.0
# scipy.signal.resample_poly's default Kaiser (beta 5) anti-aliasing filter ripples by ~0.15 % in its
# passband: the tolerance on resampled samples, relative to the amplitude.
PASSBAND_RIPPLE = 3e-3


def sine(frequency, rate, seconds, phase=0.0):
    t = np.arange(int(seconds * rate)) / rate
    return AMPLITUDE_UV * np.sin(2 * np.pi * frequency * t + phase)


def write_edf(path, channels, seconds=20):
    """channels: [(label, frequency Hz, rate Hz)] -> EDF of sines, written by edfio."""
    signals = [
        edfio.EdfSignal(sine(f, rate, seconds), rate, label=label, physical_dimension="uV", physical_range=(-200, 200))
        for label, f, rate in channels
    ]
    edfio.Edf(signals).write(path)
    return path


def test_sine_256_to_400_keeps_frequency_and_amplitude(tmp_path):
    seconds, frequency = 20, 10.0
    path = write_edf(tmp_path / "sine.edf", [("C3", frequency, 256)], seconds)
    rec = read_recording(path, target_sfreq=400)
    assert rec.sfreq == 400
    assert rec.n_samples == seconds * 400
    # Away from the edges (the FIR filter's transient), the samples are the analytic sine at 400 Hz.
    middle = slice(400, -400)
    expected = sine(frequency, 400, seconds)
    quantisation = 400 / 65535  # EDF 16-bit step over the ±200 µV physical range
    np.testing.assert_allclose(
        rec.signal[middle, 0], expected[middle], atol=PASSBAND_RIPPLE * AMPLITUDE_UV + quantisation
    )
    spectrum = np.abs(np.fft.rfft(rec.signal[:, 0]))
    assert np.fft.rfftfreq(rec.n_samples, 1 / 400)[spectrum.argmax()] == pytest.approx(frequency)


def test_mixed_rate_edf_resampled_to_target(tmp_path):
    """Each channel goes from its own native rate to the target: none is upsampled by MNE first."""
    seconds = 20
    path = write_edf(tmp_path / "mixed.edf", [("A", 7.0, 256), ("B", 3.0, 128), ("C", 40.0, 512)], seconds)
    rec = read_recording(path, target_sfreq=400)
    assert rec.meta["native_sfreq"] == [256.0, 128.0, 512.0]
    assert rec.signal.shape == (seconds * 400, 3)
    middle = slice(400, -400)
    for j, frequency in enumerate([7.0, 3.0, 40.0]):
        expected = sine(frequency, 400, seconds)
        np.testing.assert_allclose(rec.signal[middle, j], expected[middle], atol=PASSBAND_RIPPLE * AMPLITUDE_UV)


def test_mixed_rate_edf_refused(tmp_path):
    path = write_edf(tmp_path / "mixed.edf", [("A", 7.0, 256), ("B", 3.0, 128)])
    with pytest.raises(RecordingError, match=r"mixed\.edf.*different sampling rates \[128\.0, 256\.0\] Hz.*refuse"):
        read_recording(path, resample="refuse")
    # Selecting channels of one rate makes the file usable under "refuse".
    assert read_recording(path, channels=["B"], resample="refuse").sfreq == 128


def test_refuse_other_target(tmp_path):
    path = write_edf(tmp_path / "one.edf", [("A", 7.0, 256)])
    with pytest.raises(RecordingError, match=r"one\.edf.*\[256\.0\] Hz differs from target_sfreq=400\.0 Hz"):
        read_recording(path, target_sfreq=400, resample="refuse")
    assert read_recording(path, target_sfreq=256, resample="refuse").sfreq == 256


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"resample": "fft"}, "resample must be one of"),
        ({"target_sfreq": 0}, "target_sfreq must be a positive"),
        ({"channels": ["A", "A"]}, "each channel may be configured once"),
        ({"channels": []}, "configure at least one channel"),
    ],
)
def test_invalid_options(tmp_path, options, message):
    path = write_edf(tmp_path / "one.edf", [("A", 7.0, 256)])
    with pytest.raises(ValueError, match=message) as info:
        read_recording(path, **options)
    assert not isinstance(info.value, RecordingError)  # an option error, not a file error


def test_missing_file(tmp_path):
    with pytest.raises(RecordingError, match=r"absent\.edf: no such file"):
        read_recording(tmp_path / "absent.edf")
