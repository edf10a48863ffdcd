"""Store files: round trip against the array written (read back with h5py too), atomic writes, bad input."""

import json
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from eegseq.data.errors import RecordingError
from eegseq.data.recording import Event, Recording
from eegseq.data.store import StoreReader, stored_source_sha256, write_store
from eegseq.files import is_temporary

SHA = "ab" * 32


def _recording(n=5000, n_ch=4, zero_runs=((1000, 1200), (3000, 3005)), seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((n, n_ch)).astype(np.float32) * 30
    for start, stop in zero_runs:
        signal[start:stop] = 0.0
    events = [Event(2.0, 3.5, "sz"), Event(40.0, 1.0, "sz_foc")]
    return Recording(signal, 100.0, tuple(f"c{i}" for i in range(n_ch)), events, 1, "/data/x.edf", {"sequence": 3})


def test_round_trip_matches_the_array_and_h5py_sees_a_time_first_float32_dataset(tmp_path):
    rec = _recording()
    path = write_store(
        rec, tmp_path / "r1.h5", recording_id="r1", source_sha256=SHA, min_dropout_samples=50, chunk_samples=1024
    )
    with h5py.File(path, "r") as f:  # independent reader of the file layout
        data = f["signal"]
        assert data.dtype == np.float32 and data.shape == (5000, 4) and data.chunks == (1024, 4)
        np.testing.assert_array_equal(data[:], rec.signal)
        assert json.loads(f.attrs["events"]) == [
            {"onset": 2.0, "duration": 3.5, "eventType": "sz"},
            {"onset": 40.0, "duration": 1.0, "eventType": "sz_foc"},
        ]
        assert f.attrs["units"] == "uV"
    with StoreReader(path) as store:
        np.testing.assert_array_equal(store.read(0, 5000), rec.signal)
        for start, stop in [(0, 1), (999, 1201), (1023, 1025), (4990, 5000), (7, 7)]:
            np.testing.assert_array_equal(store.read(start, stop), rec.signal[start:stop])
        assert (store.sfreq, store.channels, store.label, store.recording_id) == (100.0, rec.channels, 1, "r1")
        assert (store.source, store.source_sha256, store.meta) == ("/data/x.edf", SHA, {"sequence": 3})
        assert store.events == rec.events
        expected_valid = np.ones(5000, bool)
        expected_valid[1000:1200] = False  # the 5-sample run is shorter than the 50-sample threshold
        np.testing.assert_array_equal(store.read_valid(0, 5000), expected_valid)
        with pytest.raises(IndexError, match="outside"):
            store.read(4000, 5001)
    assert stored_source_sha256(path) == SHA


def test_recording_without_label_round_trips_none(tmp_path):
    rec = _recording()
    rec.label = None
    path = write_store(rec, tmp_path / "r.h5", recording_id="r", source_sha256=SHA)
    with StoreReader(path) as store:
        assert store.label is None and store.to_recording().label is None


def test_exception_mid_write_leaves_no_file(tmp_path, monkeypatch):
    calls = []
    original = h5py.Group.create_dataset

    def failing(self, name, *args, **kwargs):
        calls.append(name)
        if name == "valid":
            raise OSError("disk full (simulated)")
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="disk full"):
        write_store(_recording(), tmp_path / "r.h5", recording_id="r", source_sha256=SHA)
    assert calls == ["signal", "valid"]
    assert list(tmp_path.iterdir()) == []


def test_process_killed_before_rename_leaves_nothing_at_the_final_name(tmp_path):
    script = textwrap.dedent(f"""
        import os, numpy as np
        from eegseq.data.recording import Recording
        from eegseq.data import store
        from eegseq import files
        def die(*args):
            os._exit(9)  # the process dies with the data written but not yet renamed
        files.os.replace = die
        rec = Recording(np.ones((1000, 2), np.float32), 100.0, ("a", "b"))
        store.write_store(rec, {str(tmp_path / "r.h5")!r}, recording_id="r", source_sha256="{SHA}")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 9
    assert not (tmp_path / "r.h5").exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".r.h5.") and is_temporary(name) for name in leftovers)


def test_non_finite_and_all_zero_recordings_are_refused_naming_the_source(tmp_path):
    rec = _recording()
    rec.signal[10, 2] = np.nan
    with pytest.raises(RecordingError, match=r"/data/x\.edf.*NaN/inf.*sample 10, channel 'c2'"):
        write_store(rec, tmp_path / "r.h5", recording_id="r", source_sha256=SHA)
    zero = Recording(np.zeros((500, 2), np.float32), 100.0, ("a", "b"), source="/data/zero.edf")
    with pytest.raises(RecordingError, match=r"/data/zero\.edf.*all drop-out"):
        write_store(zero, tmp_path / "z.h5", recording_id="z", source_sha256=SHA)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_truncated_files_raise_errors_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"this is not HDF5" * 100)
    with pytest.raises(RecordingError, match="garbage.h5"):
        StoreReader(garbage)
    good = write_store(_recording(n=50_000), tmp_path / "good.h5", recording_id="g", source_sha256=SHA)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(RecordingError, match="truncated.h5"), StoreReader(truncated) as store:
        store.read(0, store.n_samples)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(RecordingError, match=r"other\.h5.*not an eegseq store"):
        StoreReader(other)
    assert stored_source_sha256(garbage) is None and stored_source_sha256(tmp_path / "missing.h5") is None
