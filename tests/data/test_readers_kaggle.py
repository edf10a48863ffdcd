"""Kaggle 2016 and 2014 segments written with scipy (MATLAB v5) and h5py (MATLAB v7.3 layout)."""

import h5py
import numpy as np
import pytest
import scipy.io

from eegseq.data import RecordingError, read_recording

# MATLAB v7.3 files are HDF5 with a 512-byte user block holding MATLAB's text header.
V73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2016 HDF5 schema 1.00 ."


def kaggle2016_struct(n_samples=240000, n_channels=16, sequence=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "data": rng.normal(scale=50, size=(n_samples, n_channels)).astype(np.float32),
        "iEEGsamplingRate": np.array([[400.0]]),
        "nSamplesSegment": np.array([[float(n_samples)]]),
        "channelIndices": np.arange(1, n_channels + 1, dtype=float)[None, :],
        "sequence": np.array([[float(sequence)]]),
    }


def write_v73(path, name, struct):
    """Write ``struct`` as MATLAB v7.3 would: an HDF5 group, each array stored with its axes reversed."""
    with h5py.File(path, "w", userblock_size=512) as file:
        group = file.create_group(name)
        group.attrs["MATLAB_class"] = np.bytes_("struct")
        for key, value in struct.items():
            value = np.asarray(value)
            dataset = group.create_dataset(key, data=value.T)  # column-major MATLAB memory seen row-major
            dataset.attrs["MATLAB_class"] = np.bytes_("single" if value.dtype == np.float32 else "double")
    with open(path, "r+b") as handle:
        handle.write(V73_HEADER.ljust(124) + b"\x00\x02IM")
    return path


def test_kaggle2016_v5_full_segment_reads_back_identically(tmp_path):
    struct = kaggle2016_struct()
    path = tmp_path / "1_12_1.mat"
    scipy.io.savemat(path, {"dataStruct": struct})
    rec = read_recording(path, n_channels=16)
    np.testing.assert_array_equal(rec.signal, struct["data"])
    assert rec.signal.shape == (240000, 16)
    assert rec.sfreq == 400.0
    assert rec.channels == tuple(f"ch{i:02d}" for i in range(1, 17))
    assert rec.label == 1
    assert rec.meta["patient"] == 1 and rec.meta["segment"] == 12 and rec.meta["sequence"] == 3


@pytest.mark.parametrize(
    ("name", "label", "patient", "segment"),
    [("3_7_0.mat", 0, 3, 7), ("2_5.mat", None, 2, 5), ("new_2_9.mat", None, 2, 9)],
)
def test_kaggle2016_names(tmp_path, name, label, patient, segment):
    path = tmp_path / name
    scipy.io.savemat(path, {"dataStruct": kaggle2016_struct(n_samples=800)})
    rec = read_recording(path)
    assert (rec.label, rec.meta["patient"], rec.meta["segment"]) == (label, patient, segment)
    assert rec.meta["new"] == name.startswith("new_")


def test_kaggle2016_v73_reads_back_identically(tmp_path):
    struct = kaggle2016_struct(n_samples=24000)
    path = write_v73(tmp_path / "1_3_0.mat", "dataStruct", struct)
    with h5py.File(path, "r") as file:  # the transposition the reader has to undo
        assert file["dataStruct/data"].shape == (16, 24000)
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.signal, struct["data"])
    assert (rec.sfreq, rec.label, rec.meta["sequence"]) == (400.0, 0, 3)


def kaggle2014_struct(n_channels=16, seconds=10.0, sfreq=16384 / 41, seed=1):
    rng = np.random.default_rng(seed)
    n_samples = round(seconds * sfreq)
    channels = np.empty((1, n_channels), dtype=object)
    channels[0, :] = [f"NVC0905_22_002_Ecog_c{i:03d}" for i in range(1, n_channels + 1)]
    return {
        "data": rng.normal(scale=30, size=(n_channels, n_samples)),  # channels first
        "data_length_sec": seconds,
        "sampling_frequency": sfreq,
        "channels": channels,
        "sequence": 2.0,
    }


def test_kaggle2014_reads_back_identically(tmp_path):
    struct = kaggle2014_struct()
    path = tmp_path / "Dog_2_preictal_segment_0007.mat"
    scipy.io.savemat(path, {"preictal_segment_7": struct})
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.signal, struct["data"].T.astype(np.float32))
    assert rec.sfreq == pytest.approx(16384 / 41)
    assert rec.channels == tuple(struct["channels"][0])
    assert rec.label == 1
    assert rec.meta["subject"] == "Dog_2" and rec.meta["segment"] == 7 and rec.meta["sequence"] == 2


def test_kaggle2014_v73_with_cell_array_of_names(tmp_path):
    """MATLAB v7.3 stores a cell array as references into '#refs#', each name a uint16 char array."""
    struct = kaggle2014_struct(n_channels=3, seconds=2.0)
    names = list(struct.pop("channels")[0])
    path = write_v73(tmp_path / "Dog_1_interictal_segment_0002.mat", "interictal_segment_2", struct)
    with h5py.File(path, "r+") as file:
        refs = file.create_group("#refs#")
        cells = []
        for i, name in enumerate(names):
            text = refs.create_dataset(f"c{i}", data=np.array([[ord(ch)] for ch in name], dtype=np.uint16))
            text.attrs["MATLAB_class"] = np.bytes_("char")
            cells.append(text.ref)
        cell = file["interictal_segment_2"].create_dataset(
            "channels", data=np.array(cells, dtype=h5py.ref_dtype)[:, None]
        )
        cell.attrs["MATLAB_class"] = np.bytes_("cell")
    rec = read_recording(path)
    assert rec.channels == tuple(names)
    assert rec.label == 0
    np.testing.assert_array_equal(rec.signal, struct["data"].T.astype(np.float32))


def test_kaggle2014_test_segment_resampled_to_400(tmp_path):
    struct = kaggle2014_struct(n_channels=4)
    del struct["sequence"]
    path = tmp_path / "Patient_1_test_segment_0001.mat"
    scipy.io.savemat(path, {"test_segment_1": struct})
    rec = read_recording(path, target_sfreq=400)
    assert rec.label is None and "sequence" not in rec.meta
    assert rec.sfreq == 400
    # 16384/41 Hz -> 400 Hz is up 1025, down 1024.
    assert rec.n_samples == int(np.ceil(struct["data"].shape[1] * 1025 / 1024))


def test_nsamples_mismatch(tmp_path):
    struct = kaggle2016_struct(n_samples=800)
    struct["nSamplesSegment"] = np.array([[1000.0]])
    path = tmp_path / "1_1_0.mat"
    scipy.io.savemat(path, {"dataStruct": struct})
    with pytest.raises(RecordingError, match=r"1_1_0\.mat.*800 samples but nSamplesSegment says 1000"):
        read_recording(path)


def test_missing_field_named(tmp_path):
    struct = kaggle2016_struct(n_samples=800)
    del struct["iEEGsamplingRate"]
    path = tmp_path / "1_1_0.mat"
    scipy.io.savemat(path, {"dataStruct": struct})
    with pytest.raises(RecordingError, match=r"no field 'iEEGsamplingRate'"):
        read_recording(path)


def test_all_zero_segment(tmp_path):
    struct = kaggle2016_struct(n_samples=800)
    struct["data"][:] = 0
    path = tmp_path / "1_2_0.mat"
    scipy.io.savemat(path, {"dataStruct": struct})
    with pytest.raises(RecordingError, match=r"1_2_0\.mat.*every sample of every channel is zero"):
        read_recording(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_sample(tmp_path, bad):
    struct = kaggle2016_struct(n_samples=800)
    struct["data"][123, 5] = bad
    path = tmp_path / "1_3_0.mat"
    scipy.io.savemat(path, {"dataStruct": struct})
    with pytest.raises(RecordingError, match=r"1_3_0\.mat.*1 NaN/inf sample.*sample 123 of channel 'ch06'"):
        read_recording(path)


def test_wrong_channel_count(tmp_path):
    path = tmp_path / "1_4_0.mat"
    scipy.io.savemat(path, {"dataStruct": kaggle2016_struct(n_samples=800, n_channels=15)})
    with pytest.raises(RecordingError, match=r"1_4_0\.mat.*expected 16 channels, got 15"):
        read_recording(path, n_channels=16)


@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_truncated_v5_mat(tmp_path, keep):
    path = tmp_path / "1_5_0.mat"
    scipy.io.savemat(path, {"dataStruct": kaggle2016_struct(n_samples=4000)}, do_compression=True)
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])
    with pytest.raises(RecordingError, match=r"1_5_0\.mat.*cannot read"):
        read_recording(path)


def test_garbage_mat(tmp_path):
    path = tmp_path / "1_6_0.mat"
    path.write_bytes(b"not a MATLAB file at all" * 20)
    with pytest.raises(RecordingError, match=r"1_6_0\.mat"):
        read_recording(path)


@pytest.mark.parametrize("keep", [0.5, 0.01])
def test_truncated_v73_hdf5(tmp_path, keep):
    path = write_v73(tmp_path / "1_7_0.mat", "dataStruct", kaggle2016_struct(n_samples=4000))
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])
    with pytest.raises(RecordingError, match=r"1_7_0\.mat"):
        read_recording(path)


def test_unknown_mat_layout(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"eeg": {"data": np.ones((10, 2))}})
    with pytest.raises(RecordingError, match=r"other\.mat.*unknown \.mat layout.*'eeg'"):
        read_recording(path)
