"""TUSZ montages: one bipolar (TCP) montage read from recordings of every reference, the derivations
checked against differences of the values edfio wrote."""

from pathlib import Path

import edfio
import numpy as np
import pytest
import yaml

from eegseq.data import RecordingError, read_recording

RATE, SECONDS = 250, 4
ELECTRODES = [
    "FP1",
    "FP2",
    "F3",
    "F4",
    "C3",
    "C4",
    "P3",
    "P4",
    "O1",
    "O2",
    "F7",
    "F8",
    "T3",
    "T4",
    "T5",
    "T6",
    "A1",
    "A2",
    "FZ",
    "CZ",
    "PZ",
]
# TUSZ v2 montage folders: label pattern and the electrodes their files lack.
MONTAGES = {
    "01_tcp_ar": ("EEG {}-REF", ()),
    "02_tcp_le": ("EEG {}-LE", ()),
    "03_tcp_ar_a": ("EEG {}-REF", ("A1", "A2")),
}
TUSZ_CONFIG = yaml.safe_load(Path("configs/tusz.yaml").read_text())


def _tusz_edf(path, montage):
    pattern, absent = MONTAGES[montage]
    rng = np.random.default_rng(len(montage))
    values = {}
    signals = []
    for electrode in ELECTRODES:
        if electrode in absent:
            continue
        values[electrode] = rng.uniform(-150, 150, RATE * SECONDS)
        signals.append(
            edfio.EdfSignal(
                values[electrode],
                RATE,
                label=pattern.format(electrode),
                physical_dimension="uV",
                physical_range=(-200, 200),
            )
        )
    signals.append(edfio.EdfSignal(np.linspace(0, 1, SECONDS), 1, label="IBI", physical_dimension=""))
    edfio.Edf(signals).write(path)
    # what edfio stores: its own read-back (quantised to the 16-bit digital range)
    read_back = {signal.label: signal.data for signal in edfio.read_edf(path).signals}
    return {electrode: read_back[pattern.format(electrode)] for electrode in values}


@pytest.mark.parametrize("montage", sorted(MONTAGES))
def test_tcp_montage_from_every_tusz_reference(tmp_path, montage):
    derivations = TUSZ_CONFIG["data"]["montage"]
    written = _tusz_edf(tmp_path / f"aaaaaaaa_s001_t000_{montage}.edf", montage)
    recording = read_recording(tmp_path / f"aaaaaaaa_s001_t000_{montage}.edf", montage=derivations)
    assert recording.channels == tuple(derivations)
    assert recording.n_channels == TUSZ_CONFIG["model"]["channels"]
    expected = np.stack([written[d.split("-")[0]] - written[d.split("-")[1]] for d in derivations], axis=1)
    np.testing.assert_allclose(recording.signal, expected, rtol=1e-5, atol=1e-3)


def test_montage_electrode_missing_is_named(tmp_path):
    _tusz_edf(tmp_path / "a.edf", "03_tcp_ar_a")
    with pytest.raises(RecordingError, match=r"electrode\(s\) \['A1'\] not in the file"):
        read_recording(tmp_path / "a.edf", montage=["A1-T3", "FP1-F7"])


def test_montage_and_channels_are_exclusive(tmp_path):
    _tusz_edf(tmp_path / "a.edf", "01_tcp_ar")
    with pytest.raises(ValueError, match="channels or montage"):
        read_recording(tmp_path / "a.edf", montage=["FP1-F7"], channels=["EEG FP1-REF"])
    with pytest.raises(ValueError, match="'A-B'"):
        read_recording(tmp_path / "a.edf", montage=["FP1"])
