"""EDF/EDF+/BDF through read_recording, checked against independent libraries' reads of the same files.

Files: EDF/BDF shipped inside the pyedflib package (written by EDFlib, not by us), and files written by
edfio and pyedflib. References are those libraries' own reads, in microvolts.
"""

import importlib.resources
import shutil

import edfio
import numpy as np
import pyedflib
import pytest
from scipy.signal import resample_poly

from eegseq.data import RecordingError, read_recording

PYEDFLIB = importlib.resources.files("pyedflib")
SHIPPED_EDF = PYEDFLIB / "data" / "test_generator.edf"
SHIPPED_BDF = PYEDFLIB / "tests" / "data" / "test_generator.bdf"
SHIPPED_ANNOTATED_EDF = PYEDFLIB / "tests" / "data" / "test_subsecond.edf"
MICROVOLTS = {"uV": 1.0, "mV": 1e3, "V": 1e6}


def pyedflib_read(path):
    """(labels, rates Hz, signals in µV, (onsets s, texts)) as pyedflib reads them."""
    with pyedflib.EdfReader(str(path)) as reader:
        n = reader.signals_in_file
        signals = [reader.readSignal(i) * MICROVOLTS[reader.getPhysicalDimension(i)] for i in range(n)]
        onsets, _, texts = reader.readAnnotations()
        return reader.getSignalLabels(), list(reader.getSampleFrequencies()), signals, (onsets, list(texts))


def assert_float32_close(ours, reference):
    """Equal to float32 precision: far finer than any EDF quantisation step or unit error."""
    assert ours.dtype == np.float32
    reference = np.asarray(reference, dtype=np.float64)
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6 * max(np.abs(reference).max(), 1.0))


def test_shipped_edf_matches_pyedflib():
    labels, rates, signals, _ = pyedflib_read(SHIPPED_EDF)
    rec = read_recording(SHIPPED_EDF)
    assert rec.channels == tuple(labels)
    assert rec.sfreq == rates[0]
    assert rec.signal.shape == (len(signals[0]), len(labels))
    assert_float32_close(rec.signal, np.stack(signals, axis=1))


def test_shipped_edf_annotations_become_events():
    _, _, _, (onsets, texts) = pyedflib_read(SHIPPED_ANNOTATED_EDF)
    rec = read_recording(SHIPPED_ANNOTATED_EDF)
    assert [event.label for event in rec.events] == texts
    np.testing.assert_allclose([event.onset for event in rec.events], onsets, atol=1e-6)


def test_shipped_bdf_each_native_rate_matches_pyedflib():
    """The shipped BDF mixes 500-1000 Hz channels: each is read at its own rate, never resampled by MNE."""
    labels, rates, signals, _ = pyedflib_read(SHIPPED_BDF)
    assert len(set(rates)) > 1
    for label, rate, signal in zip(labels, rates, signals):
        rec = read_recording(SHIPPED_BDF, channels=[label], resample="refuse")
        assert rec.sfreq == rate
        assert_float32_close(rec.signal[:, 0], signal)


def test_shipped_bdf_mixed_rates_refused():
    with pytest.raises(RecordingError, match=r"test_generator\.bdf.*different sampling rates"):
        read_recording(SHIPPED_BDF, resample="refuse")


def test_shipped_bdf_mixed_rates_polyphase_to_highest_rate():
    labels, rates, signals, _ = pyedflib_read(SHIPPED_BDF)
    rec = read_recording(SHIPPED_BDF)
    assert rec.sfreq == max(rates)
    assert rec.meta["native_sfreq"] == rates
    for j, (rate, signal) in enumerate(zip(rates, signals)):
        up, down = int(rec.sfreq), int(rate)  # all rates are integers here
        reference = signal if rate == rec.sfreq else resample_poly(signal, up, down)
        np.testing.assert_allclose(rec.signal[:, j], reference[: rec.n_samples], atol=1e-3 * np.abs(signal).max())


@pytest.mark.parametrize("kind", ["edf", "bdf"])
def test_edfio_written_file_matches_edfio(tmp_path, kind):
    rng = np.random.default_rng(3)
    make_signal, make_file, read = (
        (edfio.EdfSignal, edfio.Edf, edfio.read_edf) if kind == "edf" else (edfio.BdfSignal, edfio.Bdf, edfio.read_bdf)
    )
    specs = [("Fp1", "uV", 250.0), ("C3", "mV", 0.3), ("O2", "uV", 4000.0)]  # label, unit, amplitude
    signals = [
        make_signal(amplitude * rng.uniform(-1, 1, 256 * 8), 256, label=label, physical_dimension=unit)
        for label, unit, amplitude in specs
    ]
    path = tmp_path / f"written.{kind}"
    make_file(signals, annotations=[edfio.EdfAnnotation(2.5, 1.25, "seizure")]).write(path)

    written = read(path)
    reference = np.stack([signal.data * MICROVOLTS[signal.physical_dimension] for signal in written.signals], axis=1)
    rec = read_recording(path)
    assert rec.channels == ("Fp1", "C3", "O2")
    assert rec.sfreq == 256
    assert_float32_close(rec.signal, reference)
    assert [(e.onset, e.duration, e.label) for e in rec.events] == [(2.5, 1.25, "seizure")]


def write_chbmit_like(path, labels, seconds=4, rate=256):
    """An EDF with CHB-MIT's dummy ('-') and repeated ('T8-P8') channel names; channel i holds i + sine."""
    headers = [
        {
            "label": label,
            "dimension": "uV",
            "sample_frequency": rate,
            "physical_max": 500.0,
            "physical_min": -500.0,
            "digital_max": 32767,
            "digital_min": -32768,
        }
        for label in labels
    ]
    data = [10.0 * i + 100 * np.sin(2 * np.pi * (i + 1) * np.arange(seconds * rate) / rate) for i in range(len(labels))]
    with pyedflib.EdfWriter(str(path), len(labels), file_type=pyedflib.FILETYPE_EDFPLUS) as writer:
        writer.setSignalHeaders(headers)
        writer.writeSamples(data)
    return path


def test_chbmit_dummy_and_repeated_channels_dropped(tmp_path):
    labels = ["FP1-F7", "-", "T8-P8", "-", "T8-P8", "FZ-CZ"]
    path = write_chbmit_like(tmp_path / "chb01_01.edf", labels)
    _, _, signals, _ = pyedflib_read(path)
    rec = read_recording(path)
    assert rec.channels == ("FP1-F7", "T8-P8", "FZ-CZ")
    assert sorted(rec.meta["dropped_channels"]) == ["-", "-", "T8-P8"]
    assert_float32_close(rec.signal, np.stack([signals[0], signals[2], signals[5]], axis=1))


def test_channels_select_and_order(tmp_path):
    path = write_chbmit_like(tmp_path / "rec.edf", ["FP1-F7", "C3-P3", "FZ-CZ"])
    _, _, signals, _ = pyedflib_read(path)
    rec = read_recording(path, channels=["FZ-CZ", "FP1-F7"])
    assert rec.channels == ("FZ-CZ", "FP1-F7")
    assert_float32_close(rec.signal, np.stack([signals[2], signals[0]], axis=1))


def test_missing_channel_named_with_what_file_has(tmp_path):
    path = write_chbmit_like(tmp_path / "rec.edf", ["FP1-F7", "C3-P3"])
    with pytest.raises(RecordingError, match=r"rec\.edf.*'CZ'.*'FP1-F7', 'C3-P3'"):
        read_recording(path, channels=["FP1-F7", "CZ"])


def test_wrong_channel_count(tmp_path):
    path = write_chbmit_like(tmp_path / "rec.edf", ["FP1-F7", "C3-P3"])
    with pytest.raises(RecordingError, match=r"rec\.edf.*expected 3 channels, got 2"):
        read_recording(path, n_channels=3)


def test_truncated_edf(tmp_path):
    path = tmp_path / "cut.edf"
    content = SHIPPED_EDF.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(RecordingError, match=r"cut\.edf.*truncated"):
        read_recording(path)


@pytest.mark.parametrize("content", [b"", b"0       garbage" * 3, b"\x00" * 300])
def test_corrupt_edf_header(tmp_path, content):
    path = tmp_path / "broken.edf"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=r"broken\.edf"):
        read_recording(path)


def test_corrupt_edf_data_section(tmp_path):
    """A valid header followed by a file cut inside the signal headers."""
    path = tmp_path / "cut_header.edf"
    shutil.copy(SHIPPED_EDF, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(RecordingError, match=r"cut_header\.edf.*header truncated"):
        read_recording(path)
