"""The ingest job (``eegseq ingest`` / ``run_ingest``): mixed rates exit 2, normalisation statistics keyed
on the training files' contents, each skipped file logged by the pass that finds it only."""

import logging

import numpy as np
import scipy.io

from eegseq.data.manifest import ManifestRow, sha256_file, write_manifest
from eegseq.data.recording import Recording
from eegseq.data.store import StoreReader, write_store
from eegseq.data.synthetic import SyntheticSpec
from eegseq.pipelines.cli import main
from eegseq.pipelines.config import DataConfig
from eegseq.pipelines.ingest import run_ingest


def _mat(path, rate, seed):
    data = np.random.default_rng(seed).standard_normal((int(2 * rate), 4)).astype(np.float32)
    scipy.io.savemat(
        path,
        {
            "dataStruct": {
                "data": data,
                "iEEGsamplingRate": rate,
                "nSamplesSegment": float(len(data)),
                "channelIndices": np.arange(1.0, 5.0)[None, :],
                "sequence": 1.0,
            }
        },
    )
    return path


def _manifest_root(root, rates, bad=()):
    rows = []
    for i, rate in enumerate(rates):
        path = _mat(root / f"r{i}.mat", rate, i)
        if i in bad:
            path.write_bytes(b"MATLAB 5.0 MAT-file, truncated")
        rows.append(
            ManifestRow(
                id=f"r{i}", path=path.name, sha256=sha256_file(path), subject=f"s{i}", group=f"g{i}", split="train"
            )
        )
    write_manifest(rows, root / "manifest.csv")
    return root


def test_mixed_rates_without_target_sfreq_exit_2_naming_the_option(tmp_path, capsys):
    root = _manifest_root(tmp_path, [400.0, 256.0])
    code = main(
        [
            "ingest",
            "--set",
            f"data.root={root}",
            "--set",
            "data.source=manifest",
            "--set",
            "data.path=manifest.csv",
            "--set",
            "data.workers=1",
            "--set",
            "train.progress=false",
        ]
    )
    assert code == 2
    assert "data.target_sfreq" in capsys.readouterr().err


def _numpy_stats(paths):
    """Reference: NumPy mean/std over every valid sample of the files, all at once."""
    samples = []
    for path in paths:
        with StoreReader(path) as store:
            samples.append(store.read(0, store.n_samples)[store.read_valid(0, store.n_samples)])
    joined = np.concatenate(samples).astype(np.float64)
    return joined.mean(axis=0), joined.std(axis=0)


def test_stats_follow_a_training_file_whose_content_changed(tmp_path):
    data = DataConfig(
        root=tmp_path, synthetic=SyntheticSpec(n_subjects=3, recordings_per_subject=1, n_samples=4000), workers=1
    )
    prepared = run_ingest(data, progress=False)
    train = [prepared.store_dir / row.path for row in prepared.rows_of("train")]
    with StoreReader(train[0]) as store:
        recording = store.to_recording()
        sha = store.source_sha256
    # Same name and source hash, other samples (e.g. rewritten by an older or newer reader).
    write_store(
        Recording(
            recording.signal * 3.0 + 5.0,
            recording.sfreq,
            recording.channels,
            recording.events,
            recording.label,
            recording.source,
            recording.meta,
        ),
        train[0],
        recording_id=train[0].stem,
        source_sha256=sha,
    )
    again = run_ingest(data, progress=False)
    mean, std = _numpy_stats(train)
    np.testing.assert_allclose(again.stats.mean, mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(again.stats.std, std, rtol=1e-6)
    assert not np.allclose(prepared.stats.mean, mean)


def test_each_skipped_file_is_logged_once_across_passes(tmp_path, caplog):
    """`eegseq train` ingests, then its evaluation ingests again: the second pass must not repeat warnings."""
    root = _manifest_root(tmp_path, [400.0, 400.0, 400.0], bad={1})
    data = DataConfig(root=root, source="manifest", path="manifest.csv", workers=1)
    with caplog.at_level(logging.WARNING, logger="eegseq.pipelines.ingest"):
        run_ingest(data, progress=False)
        first = [record.getMessage() for record in caplog.records]
        caplog.clear()
        run_ingest(data, progress=False)
        second = [record.getMessage() for record in caplog.records]
    assert len(first) == 1 and first[0].startswith("ingest skipped r1: ")
    assert second == [
        f"ingest: 1 recording(s) left out as before (unchanged since they failed; reasons in "
        f"{root / 'store' / 'ingest_report.json'})"
    ]


def test_eegseq_ingest_refuses_a_store_being_written(tmp_path, capsys):
    """`eegseq ingest` refuses while another ingest holds the store; the jobs' own ingests wait instead."""
    from eegseq.data.store_lock import StoreLock

    args = ["ingest", "--set", f"data.root={tmp_path}", "--set", "data.synthetic.n_subjects=1",
            "--set", "data.synthetic.recordings_per_subject=1", "--set", "data.synthetic.n_samples=1000",
            "--set", "train.progress=false"]  # fmt: skip
    with StoreLock(tmp_path / "store"):
        assert main(args) == 1
    assert "another ingest" in capsys.readouterr().err
    assert main(args) == 0
