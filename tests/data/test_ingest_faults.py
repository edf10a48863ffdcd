"""Ingest faults: events past the end, mixed rates, changed sources, recorded failures, flat channels,
the store lock, stale temporary files, a killed ingest's workers, a full disk.

Fixtures: Kaggle-layout ``.mat`` files written by SciPy, EDF by edfio, synthetic recordings.
"""

import errno
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import edfio
import numpy as np
import pytest
import scipy.io

import eegseq.data.readers
from eegseq.data.ingest import IngestError, MixedRatesError, ingest
from eegseq.data.manifest import ManifestRow, load_manifest, write_events, write_manifest
from eegseq.data.recording import Event
from eegseq.data.store import StoreReader
from eegseq.data.store_lock import StoreLock, StoreLockedError
from eegseq.data.synthetic import SyntheticSpec

N_SAMPLES = 800  # 2 s at 400 Hz


def _mat(path, data, rate=400.0):
    scipy.io.savemat(
        path,
        {
            "dataStruct": {
                "data": data,
                "iEEGsamplingRate": rate,
                "nSamplesSegment": float(data.shape[0]),
                "channelIndices": np.arange(1, data.shape[1] + 1, dtype=float)[None, :],
                "sequence": 1.0,
            }
        },
    )
    return path


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source(root, files, events=None):
    """A source manifest over ``{name: array or (array, rate)}``; optional events table."""
    root.mkdir(exist_ok=True)
    rows = []
    for i, (name, data) in enumerate(files.items()):
        data, rate = data if isinstance(data, tuple) else (data, 400.0)
        path = _mat(root / f"{name}.mat", data, rate)
        rows.append(ManifestRow(id=name, path=path.name, sha256=_sha(path), subject="p1", group=f"g{i}", split="train"))
    manifest = write_manifest(rows, root / "manifest.csv")
    if events is not None:
        write_events(events, root / "manifest_events.csv")
    return manifest


def _signal(seed=0, n=N_SAMPLES):
    return np.random.default_rng(seed).standard_normal((n, 4)).astype(np.float32)


def test_manifest_events_past_the_end_refused_by_default_or_clipped_with_a_warning(tmp_path):
    events = {"a": [Event(0.5, 1.0, "sz")], "b": [Event(1.5, 4.0, "sz"), Event(3.0, 1.0, "sz")]}
    manifest = _source(tmp_path / "raw", {"a": _signal(0), "b": _signal(1)}, events)
    refused = ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert refused.written == ["a"]
    assert (
        "2 event(s) from the events given start or end after the recording's end at 2.000 s"
        in dict(refused.failed)["b"]
    )
    clipped = ingest(
        manifest, tmp_path / "clipped", workers=1, progress=False, reader_options={"events_past_end": "clip"}
    )
    assert sorted(clipped.written) == ["a", "b"]
    with StoreReader(tmp_path / "clipped" / "b.h5") as store:
        assert store.events == [Event(1.5, 0.5, "sz")]  # clipped at 2 s; the one starting at 3 s dropped
    assert [rid for rid, _ in clipped.warnings] == ["b", "b"]


def test_mixed_rates_without_target_sfreq_stop_before_the_manifest(tmp_path):
    manifest = _source(tmp_path / "raw", {"a": _signal(0), "b": (_signal(1, 400), 200.0)})
    with pytest.raises(MixedRatesError, match=r"different sampling rates \[200\.0, 400\.0\] Hz.*set target_sfreq"):
        ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert not (tmp_path / "store" / "manifest.csv").exists()
    report = ingest(manifest, tmp_path / "store", workers=1, progress=False, reader_options={"target_sfreq": 400.0})
    assert {row.sfreq for row in load_manifest(report.manifest)} == {400.0}
    assert sorted(report.written) == ["a", "b"]  # other reader options: stored again, not skipped


def test_source_changed_after_ingest_is_checked_again(tmp_path):
    manifest = _source(tmp_path / "raw", {"a": _signal(0)})
    ingest(manifest, tmp_path / "store", workers=1, progress=False)
    source = tmp_path / "raw" / "a.mat"
    _mat(source, _signal(7))  # same name and manifest, other bytes
    os.utime(source, ns=(time.time_ns(), time.time_ns() + 10**9))
    report = ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert report.skipped_existing == [] and "checksum mismatch" in dict(report.failed)["a"]


def test_edited_events_are_stored_again(tmp_path):
    """An events table (or an annotation file beside the recording) edited after ingest: stored again."""
    manifest = _source(tmp_path / "raw", {"a": _signal(0)}, {"a": [Event(0.5, 0.5, "sz")]})
    ingest(manifest, tmp_path / "store", workers=1, progress=False)
    write_events({"a": [Event(1.0, 0.5, "sz")]}, tmp_path / "raw" / "manifest_events.csv")
    again = ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert again.written == ["a"]
    with StoreReader(tmp_path / "store" / "a.h5") as store:
        assert store.events == [Event(1.0, 0.5, "sz")]


def test_a_failed_file_is_not_read_again_until_it_changes(tmp_path, monkeypatch):
    manifest = _source(tmp_path / "raw", {"good": _signal(0), "bad": _signal(1)})
    bad = tmp_path / "raw" / "bad.mat"
    rows = [row.model_copy(update={"n_channels": 16}) if row.id == "bad" else row for row in load_manifest(manifest)]
    write_manifest(rows, manifest)  # "bad" has 4 channels, its row says 16
    first = ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert [rid for rid, _ in first.failed] == ["bad"] and first.failed_before == []

    reads = []
    real = eegseq.data.readers.read_recording
    monkeypatch.setattr(
        eegseq.data.readers, "read_recording", lambda path, **kw: reads.append(path) or real(path, **kw)
    )
    second = ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert reads == [] and second.failed == []
    assert second.failed_before == first.failed and second.skipped_existing == ["good"]

    os.utime(bad, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched: read again
    third = ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert reads == [str(bad)] and [rid for rid, _ in third.failed] == ["bad"]


def test_flat_channel_is_stored_with_a_warning(tmp_path):
    data = _signal(0)
    data[:, 2] = 0.0
    manifest = _source(tmp_path / "raw", {"a": data})
    report = ingest(manifest, tmp_path / "store", workers=1, progress=False)
    assert report.written == ["a"]
    assert report.warnings == [("a", "channel 'ch03' is flat: 0.0 in every sample")]
    with StoreReader(tmp_path / "store" / "a.h5") as store:
        assert store.meta["warnings"] == ["channel 'ch03' is flat: 0.0 in every sample"]


def test_flat_channel_in_an_edf_is_warned_about(tmp_path):
    rate = 256
    signals = [
        edfio.EdfSignal(np.sin(np.arange(rate * 2) / 5) * 40, rate, label="Fp1", physical_dimension="uV"),
        edfio.EdfSignal(np.zeros(rate * 2), rate, label="Fp2", physical_dimension="uV", physical_range=(-100, 100)),
    ]
    edfio.Edf(signals).write(tmp_path / "r.edf")
    recording = eegseq.data.readers.read_recording(tmp_path / "r.edf")
    assert len(recording.meta["warnings"]) == 1 and "'Fp2' is flat" in recording.meta["warnings"][0]


def test_second_writer_is_refused_while_the_store_is_locked(tmp_path):
    store = tmp_path / "store"
    with (
        StoreLock(store),
        pytest.raises(StoreLockedError, match=rf"{store}: another ingest \(pid {os.getpid()}\) is writing"),
    ):
        ingest(SyntheticSpec(n_subjects=1, recordings_per_subject=1, n_samples=1000), store, workers=1, progress=False)
    assert ingest(
        SyntheticSpec(n_subjects=1, recordings_per_subject=1, n_samples=1000), store, workers=1, progress=False
    ).written  # released: the next ingest runs


def test_an_ingest_of_the_same_job_waits_for_the_lock_when_asked(tmp_path):
    """The workers of a multi-worker training each ingest the store: the later ones wait, then skip."""
    store = tmp_path / "store"
    spec = SyntheticSpec(n_subjects=1, recordings_per_subject=1, n_samples=1000)
    reports = []
    with StoreLock(store):
        waiting = threading.Thread(
            target=lambda: reports.append(ingest(spec, store, workers=1, progress=False, wait_for_store=True))
        )
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and reports == []
    waiting.join(timeout=60)
    assert reports[0].written == [spec.recording_id(0)]


def test_temporary_files_left_by_a_killed_ingest_are_removed(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    left = [store / ".s0000_r000.h5.0123456789ab.tmp.h5", store / ".manifest.csv.89ab0123cdef.tmp.csv"]
    for path in left:
        path.write_bytes(b"half written")
    ingest(SyntheticSpec(n_subjects=1, recordings_per_subject=1, n_samples=1000), store, workers=1, progress=False)
    assert not any(path.exists() for path in left)


KILLED_INGEST = """
import sys
from eegseq.data.ingest import ingest
from eegseq.data.synthetic import SyntheticSpec
ingest(SyntheticSpec(n_subjects=4, recordings_per_subject=4, n_samples=1_200_000), sys.argv[1], workers=2,
       progress=False)
"""


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkill_of_the_ingest_kills_its_workers(tmp_path):
    store = tmp_path / "store"
    parent = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, str(store)])
    workers = []
    try:
        deadline = time.monotonic() + 120
        while len(workers := [c for c in _children(parent.pid) if _is_worker(c)]) < 2:
            assert time.monotonic() < deadline and parent.poll() is None, "workers never started"
            time.sleep(0.2)
        time.sleep(1.0)  # the workers are generating or writing recordings
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while alive := [w for w in workers if _alive(w)]:
            assert time.monotonic() < deadline, f"workers {alive} outlived the killed ingest"
            time.sleep(0.1)
        files = sorted(p.name for p in store.iterdir())
        time.sleep(2.0)
        assert sorted(p.name for p in store.iterdir()) == files  # nobody writes any more
    finally:
        parent.kill()
        for worker in workers:  # without the fix they outlive their parent: do not leave them running
            if _alive(worker):
                os.kill(worker, signal.SIGKILL)


def _is_worker(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"multiprocessing" in handle.read()
    except OSError:
        return False


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except OSError:
        return False


DISK_SPEC = SyntheticSpec(n_subjects=2, recordings_per_subject=3, n_samples=12_000)  # ~0.78 MB per store file


def _assert_whole(store):
    """Nothing half-written: no temporary file, every store file opens and reads whole."""
    names = sorted(p.name for p in store.iterdir())
    assert not [name for name in names if name.endswith(".tmp")], names
    for name in names:
        if name.endswith(".h5"):
            with StoreReader(store / name) as reader:
                assert reader.read(0, reader.n_samples).shape == (reader.n_samples, reader.n_channels)
    return names


def test_disk_full_stops_the_ingest_and_leaves_nothing_half_written_simulated(tmp_path, monkeypatch):
    """Simulated ENOSPC (for hosts where a tmpfs cannot be mounted): the third store file's write stops
    half way, as on a full disk."""
    real_write_bytes, writes = Path.write_bytes, []

    def full_disk(path, data):
        if ".h5." in path.name:
            writes.append(path)
            if len(writes) == 3:
                real_write_bytes(path, bytes(data[: len(data) // 2]))
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    store = tmp_path / "store"
    with pytest.raises(IngestError, match=r"the disk is full \(.*No space left on device\)"):
        ingest(DISK_SPEC, store, workers=1, progress=False)
    assert len(writes) == 3
    assert len([name for name in _assert_whole(store) if name.endswith(".h5")]) == 2
    assert not (store / "manifest.csv").exists()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 2 MiB tmpfs (needs root); skipped where it cannot be mounted."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_on_a_real_tmpfs(tiny_tmpfs):
    store = tiny_tmpfs / "store"
    with pytest.raises(IngestError, match="the disk is full"):
        ingest(DISK_SPEC, store, workers=2, progress=False)
    written = [name for name in _assert_whole(store) if name.endswith(".h5")]
    assert 1 <= len(written) < DISK_SPEC.n_recordings
