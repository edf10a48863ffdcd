"""Ingest: store + manifest from a synthetic spec, a manifest or a folder; resumption; skip/stop policies."""

import hashlib

import numpy as np
import pytest
import scipy.io

from eegseq.data.ingest import IngestError, ingest
from eegseq.data.manifest import ManifestRow, load_manifest, read_events, write_manifest
from eegseq.data.store import StoreReader
from eegseq.data.synthetic import SyntheticSpec, generate_recording

SPEC = SyntheticSpec(n_subjects=2, recordings_per_subject=2, n_samples=6000)


def _store_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".h5")


def test_synthetic_ingest_writes_store_and_manifest_then_resumes_by_sha(tmp_path):
    store = tmp_path / "store"
    report = ingest(SPEC, store, workers=1, progress=False)
    assert sorted(report.written) == [SPEC.recording_id(i) for i in range(4)] and not report.failed
    rows = load_manifest(report.manifest, verify_checksums=True)
    events = read_events(store / "manifest_events.csv")
    for index in range(4):
        expected = generate_recording(SPEC, index)
        row = next(r for r in rows if r.id == SPEC.recording_id(index))
        with StoreReader(store / row.path) as reader:
            np.testing.assert_array_equal(reader.read(0, reader.n_samples), expected.signal)
        assert (row.label, row.n_samples, row.n_channels, row.sfreq) == (expected.label, 6000, 16, 400.0)
        assert events.get(row.id, []) == expected.events
    (store / f"{SPEC.recording_id(2)}.h5").unlink()
    again = ingest(SPEC, store, workers=1, progress=False)
    assert again.written == [SPEC.recording_id(2)] and len(again.skipped_existing) == 3
    assert load_manifest(again.manifest) == rows
    changed = SPEC.model_copy(update={"line_freq": 50.0})  # other source SHA: nothing may be skipped
    assert len(ingest(changed, store, workers=1, progress=False).written) == 4


def test_worker_processes_produce_the_same_store(tmp_path):
    spec = SPEC.model_copy(update={"n_samples": 2000})
    serial = ingest(spec, tmp_path / "serial", workers=1, progress=False)
    parallel = ingest(spec, tmp_path / "parallel", workers=2, progress=False)
    assert sorted(parallel.written) == sorted(serial.written)
    for name in _store_files(tmp_path / "serial"):
        with StoreReader(tmp_path / "serial" / name) as a, StoreReader(tmp_path / "parallel" / name) as b:
            np.testing.assert_array_equal(a.read(0, a.n_samples), b.read(0, b.n_samples))


def _mat(path, data):
    scipy.io.savemat(
        path,
        {
            "dataStruct": {
                "data": data,
                "iEEGsamplingRate": 400.0,
                "nSamplesSegment": float(data.shape[0]),
                "channelIndices": np.arange(1, data.shape[1] + 1, dtype=float)[None, :],
                "sequence": 1.0,
            }
        },
    )
    return path


@pytest.fixture
def messy_source(tmp_path):
    """A source manifest with two good files and one of each bad case."""
    root = tmp_path / "raw"
    root.mkdir()
    rng = np.random.default_rng(0)
    good = lambda n_ch=16: rng.standard_normal((800, n_ch)).astype(np.float32)  # noqa: E731
    _mat(root / "1_1_0.mat", good())
    _mat(root / "1_2_1.mat", good())
    (root / "1_3_0.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    nan = good()
    nan[5, 3] = np.nan
    _mat(root / "1_4_0.mat", nan)
    _mat(root / "1_5_0.mat", np.zeros((800, 16), np.float32))
    _mat(root / "1_6_0.mat", good(8))
    _mat(root / "1_7_0.mat", good())
    sha = lambda name: hashlib.sha256((root / name).read_bytes()).hexdigest()  # noqa: E731
    rows = [
        ManifestRow(
            id=name.removesuffix(".mat"),
            path=name,
            sha256=sha(name),
            subject="p1",
            group=f"g{i}",
            split="train",
            n_channels=16,
        )
        for i, name in enumerate(["1_1_0.mat", "1_2_1.mat", "1_3_0.mat", "1_4_0.mat", "1_5_0.mat", "1_6_0.mat"])
    ]
    rows.append(ManifestRow(id="1_7_0", path="1_7_0.mat", sha256="0" * 64, subject="p1", group="g7", split="train"))
    rows.append(ManifestRow(id="gone", path="gone.mat", sha256="0" * 64, subject="p1", group="g8", split="train"))
    return write_manifest(rows, root / "manifest.csv")


def test_skip_policy_reports_every_bad_file_and_stores_the_good_ones(messy_source, tmp_path):
    store = tmp_path / "store"
    report = ingest(messy_source, store, workers=1, progress=False, on_error="skip")
    assert sorted(report.written) == ["1_1_0", "1_2_1"]
    reasons = dict(report.failed)
    assert set(reasons) == {"1_3_0", "1_4_0", "1_5_0", "1_6_0", "1_7_0", "gone"}
    assert "1_3_0.mat: cannot read" in reasons["1_3_0"]
    assert "1_4_0.mat: 1 NaN/inf sample" in reasons["1_4_0"]
    assert "1_5_0.mat: every sample of every channel is zero" in reasons["1_5_0"]
    assert "1_6_0.mat: 8 channels, manifest row '1_6_0' says 16" in reasons["1_6_0"]
    assert "1_7_0.mat: checksum mismatch" in reasons["1_7_0"]
    assert "does not exist" in reasons["gone"]
    assert [r.id for r in load_manifest(report.manifest, verify_checksums=True)] == ["1_1_0", "1_2_1"]
    assert {r.id: r.label for r in load_manifest(report.manifest)} == {"1_1_0": 0, "1_2_1": 1}
    assert sorted(p.name for p in store.iterdir()) == [
        ".ingest.lock",
        "1_1_0.h5",
        "1_2_1.h5",
        "ingest_failures.json",
        "manifest.csv",
        "manifest_events.csv",
    ]


def test_stop_policy_raises_at_the_first_error_without_half_written_files(messy_source, tmp_path):
    store = tmp_path / "store"
    with pytest.raises(IngestError, match="1_3_0") as info:
        ingest(messy_source, store, workers=1, progress=False, on_error="stop")
    assert info.value.report.failed[0][0] == "1_3_0" and info.value.report.manifest is None
    assert sorted(p.name for p in store.iterdir()) == [".ingest.lock", "1_1_0.h5", "1_2_1.h5", "ingest_failures.json"]


def test_folder_ingest_builds_the_manifest_and_reports_unusable_files(tmp_path):
    folder = tmp_path / "kaggle"
    folder.mkdir()
    data = np.random.default_rng(1).standard_normal((800, 16)).astype(np.float32)
    _mat(folder / "2_1_0.mat", data)
    (folder / "2_2_0.mat").write_bytes(b"corrupt")
    report = ingest(folder, tmp_path / "store", layout="kaggle2016", workers=1, progress=False)
    assert report.written == ["2_1_0"] and [f for f, _ in report.failed] == [str(folder / "2_2_0.mat")]
    with StoreReader(tmp_path / "store" / "2_1_0.h5") as reader:
        np.testing.assert_array_equal(reader.read(0, 800), data)
        assert reader.source_sha256 == hashlib.sha256((folder / "2_1_0.mat").read_bytes()).hexdigest()
