"""Manifests: schema validation errors naming row and column, files under the data root, splits, builders."""

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from eegseq.data.manifest import (
    EventRow,
    ManifestError,
    ManifestRow,
    SplitSpec,
    assign_splits,
    load_manifest,
    read_events,
    read_manifest,
    write_events,
    write_manifest,
)
from eegseq.data.manifest_builders import (
    SyntheticDatasetSpec,
    build_bids_manifest,
    build_chbmit_manifest,
    build_kaggle2016_manifest,
    build_tusz_manifest,
)
from eegseq.data.recording import Event

REPO = Path(__file__).resolve().parents[2]
HEADER = ["id", "path", "sha256", "subject", "group", "split", "label", "sfreq", "n_channels", "n_samples"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path, rows, header=HEADER):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _row(rid="a", path="a.bin", sha="0" * 64, split="train", **kw):
    values = {
        "id": rid,
        "path": path,
        "sha256": sha,
        "subject": "s1",
        "group": "g1",
        "split": split,
        "label": "1",
        "sfreq": "256.0",
        "n_channels": "2",
        "n_samples": "100",
    } | kw
    return [values[c] for c in HEADER]


@pytest.fixture
def root(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"alpha")
    (tmp_path / "b.bin").write_bytes(b"beta")
    return tmp_path


def test_valid_manifest_round_trips(root):
    manifest = _write(root / "m.csv", [_row("a", "a.bin", _sha(b"alpha")), _row("b", "b.bin", _sha(b"beta"), label="")])
    rows = load_manifest(manifest, verify_checksums=True)
    assert [r.id for r in rows] == ["a", "b"] and rows[0].label == 1 and rows[1].label is None
    assert rows[0].sfreq == 256.0 and rows[0].n_samples == 100
    write_manifest(rows, root / "copy.csv")
    assert read_manifest(root / "copy.csv") == rows


@pytest.mark.parametrize(
    "rows, header, row_number, column, message",
    [
        ([_row()], [c for c in HEADER if c != "group"], None, "group", "missing column"),
        ([_row("a"), _row("b"), _row("a")], HEADER, 3, "id", "duplicate id 'a'"),
        ([_row("a"), _row("b", split="training")], HEADER, 2, "split", "train"),
        ([_row(path="../outside.bin")], HEADER, 1, "path", "'..'"),
        ([_row(path="/etc/passwd")], HEADER, 1, "path", "absolute"),
        ([_row(sha="xyz")], HEADER, 1, "sha256", "pattern"),
        ([_row(n_samples="-3")], HEADER, 1, "n_samples", "greater than or equal to 1"),
    ],
)
def test_schema_errors_name_row_and_column(root, rows, header, row_number, column, message):
    manifest = _write(root / "m.csv", rows, header)
    with pytest.raises(ManifestError, match=message) as info:
        read_manifest(manifest)
    assert (info.value.row, info.value.column) == (row_number, column)
    assert str(info.value).startswith(str(manifest))


def test_file_errors_name_row_and_column(root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.bin"
    outside.write_bytes(b"secret")
    (root / "link.bin").symlink_to(outside)
    cases = [
        (_row("l", "link.bin", _sha(b"secret")), "path", "outside the data root"),
        (_row("m", "missing.bin"), "path", "does not exist"),
        (_row("b", "b.bin", _sha(b"not beta")), "sha256", "checksum mismatch"),
    ]
    for bad, column, message in cases:
        manifest = _write(root / "m.csv", [_row("a", "a.bin", _sha(b"alpha")), bad])
        with pytest.raises(ManifestError, match=message) as info:
            load_manifest(manifest, verify_checksums=True)
        assert (info.value.row, info.value.column) == (2, column)


def test_events_table_round_trip_and_errors(root):
    events = {"a": [Event(1.5, 2.0, "sz"), Event(0.25, 0.0, "sz_foc")], "b": []}
    path = write_events(events, root / "m_events.csv")
    assert read_events(path, ["a", "b"]) == {"a": [Event(0.25, 0.0, "sz_foc"), Event(1.5, 2.0, "sz")]}
    _write(
        root / "bad.csv",
        [["a", "1.0", "2", "sz"], ["a", "-1", "2", "sz"]],
        ["recording_id", "onset", "duration", "eventType"],
    )
    with pytest.raises(ManifestError) as info:
        read_events(root / "bad.csv")
    assert (info.value.row, info.value.column) == (2, "onset")
    with pytest.raises(ManifestError, match="not in the manifest") as info:
        read_events(path, ["b"])
    assert info.value.column == "recording_id"


def _many_rows(n_subjects=6, groups_per_subject=3, per_group=4):
    return [
        ManifestRow(
            id=f"s{s}g{g}r{r}",
            path=f"s{s}/g{g}/{r}.edf",
            sha256="0" * 64,
            subject=f"s{s}",
            group=f"s{s}-g{g}",
            split="train",
        )
        for s in range(n_subjects)
        for g in range(groups_per_subject)
        for r in range(per_group)
    ]


@pytest.mark.parametrize("by", ["group", "subject"])
def test_split_by_unit_never_leaks_a_unit_and_is_seeded(by):
    rows = _many_rows()
    split = assign_splits(rows, SplitSpec(seed=3, by=by))
    splits_of_unit = {}
    for row in split:
        splits_of_unit.setdefault(getattr(row, by), set()).add(row.split)
    assert all(len(s) == 1 for s in splits_of_unit.values())
    assert {row.split for row in split} == {"train", "val", "test"}
    assert assign_splits(rows, SplitSpec(seed=3, by=by)) == split
    assert assign_splits(rows, SplitSpec(seed=4, by=by)) != split
    units_per_split = {name: {getattr(r, by) for r in split if r.split == name} for name in ("train", "val", "test")}
    assert len(units_per_split["train"]) > len(units_per_split["val"])


def test_schema_file_matches_the_models():
    shipped = json.loads((REPO / "data_manifest" / "schema.json").read_text())
    assert shipped == {"manifest": ManifestRow.model_json_schema(), "events": EventRow.model_json_schema()}


def test_shipped_synthetic_manifest_is_what_its_spec_generates(tmp_path):
    folder = REPO / "data_manifest" / "synthetic_default"
    SyntheticDatasetSpec.load(folder / "spec.json").build().write(tmp_path / "manifest.csv")
    for name in ("manifest.csv", "manifest_events.csv"):
        assert (tmp_path / name).read_text() == (folder / name).read_text(), name
    rows = read_manifest(folder / "manifest.csv")
    assert {r.split for r in rows} == {"train", "val", "test"}


def _kaggle_mat(path, n=800, sequence=None, n_ch=16):
    struct = {
        "data": np.random.default_rng(len(path.name)).standard_normal((n, n_ch)).astype(np.float32),
        "iEEGsamplingRate": 400.0,
        "nSamplesSegment": float(n),
        "channelIndices": np.arange(1, n_ch + 1, dtype=float)[None, :],
    }
    if sequence is not None:
        struct["sequence"] = float(sequence)
    scipy.io.savemat(path, {"dataStruct": struct})


def test_kaggle2016_builder_groups_hours_by_sequence_and_honours_the_safe_list(tmp_path):
    folder = tmp_path / "train_1"
    folder.mkdir()
    for segment in range(1, 9):  # interictal segments 1-8: hour 0 = sequences 1-6, hour 1 = 1-2
        _kaggle_mat(folder / f"1_{segment}_0.mat", sequence=(segment - 1) % 6 + 1)
    for segment in (1, 2):
        _kaggle_mat(folder / f"1_{segment}_1.mat", sequence=segment)
    _kaggle_mat(folder / "1_20.mat")
    (folder / "1_9_0.mat").write_bytes(b"corrupt")
    (folder / "notes.mat").write_bytes(b"?")
    _write(tmp_path / "safe.csv", [["1_8_0.mat", "0", "0"], ["1_20.mat", "1", "1"]], ["image", "class", "safe"])
    built = build_kaggle2016_manifest(folder, split=SplitSpec(by="group"), safe_labels=tmp_path / "safe.csv")
    groups = {row.id: row.group for row in built.rows}
    assert {groups[f"1_{s}_0"] for s in range(1, 7)} == {"p1_interictal_h0"}
    assert groups["1_7_0"] == "p1_interictal_h1" and "1_8_0" not in groups
    assert groups["1_1_1"] == groups["1_2_1"] == "p1_preictal_h0"
    labels = {row.id: row.label for row in built.rows}
    assert labels["1_20"] == 1 and labels["1_3_0"] == 0 and labels["1_2_1"] == 1
    problems = {Path(file).name: reason for file, reason in built.problems}
    assert set(problems) == {"1_9_0.mat", "notes.mat", "1_8_0.mat"} and "unsafe" in problems["1_8_0.mat"]
    row = next(r for r in built.rows if r.id == "1_3_0")
    assert (row.sfreq, row.n_channels, row.n_samples, row.subject) == (400.0, 16, 800, "p1")
    assert row.sha256 == _sha((folder / "1_3_0.mat").read_bytes()) and row.path == "1_3_0.mat"


def test_chbmit_tusz_and_bids_builders_take_events_from_annotation_files(tmp_path):
    chb = tmp_path / "chb" / "chb01"
    chb.mkdir(parents=True)
    for name in ("chb01_01.edf", "chb01_03.edf", "chb01_99.edf"):
        (chb / name).write_bytes(name.encode())
    (chb / "chb01-summary.txt").write_text(
        "File Name: chb01_01.edf\nNumber of Seizures in File: 0\n\n"
        "File Name: chb01_03.edf\nNumber of Seizures in File: 1\n"
        "Seizure Start Time: 2996 seconds\nSeizure End Time: 3036 seconds\n"
    )
    built = build_chbmit_manifest(tmp_path / "chb")
    assert [(r.id, r.label, r.subject, r.path) for r in built.rows] == [
        ("chb01_01", 0, "chb01", "chb01/chb01_01.edf"),
        ("chb01_03", 1, "chb01", "chb01/chb01_03.edf"),
    ]
    assert built.events["chb01_03"] == [Event(2996.0, 40.0, "sz")]
    assert [Path(f).name for f, _ in built.problems] == ["chb01_99.edf"]

    tusz = tmp_path / "tusz" / "aaaaaaac" / "s001_2002"
    tusz.mkdir(parents=True)
    (tusz / "aaaaaaac_s001_t000.edf").write_bytes(b"x")
    (tusz / "aaaaaaac_s001_t000.csv_bi").write_text(
        "# version = csv_v1.0.0\nchannel,start_time,stop_time,label,confidence\n"
        "TERM,0.0,10.0,bckg,1.0\nTERM,10.0,25.5,seiz,1.0\n"
    )
    (tusz / "aaaaaaac_s001_t001.edf").write_bytes(b"y")
    built = build_tusz_manifest(tmp_path / "tusz")
    assert [(r.id, r.group, r.label) for r in built.rows] == [("aaaaaaac_s001_t000", "aaaaaaac_s001", 1)]
    assert built.events["aaaaaaac_s001_t000"] == [Event(10.0, 15.5, "sz")]
    assert "csv_bi" in built.problems[0][1]

    bids = tmp_path / "bids" / "sub-01" / "ses-01" / "eeg"
    bids.mkdir(parents=True)
    stem = "sub-01_ses-01_task-szMonitoring_run-00"
    (bids / f"{stem}_eeg.edf").write_bytes(b"z")
    (bids / f"{stem}_events.tsv").write_text(
        "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n"
        "12.0\t30.0\tsz_foc_ia\tn/a\tn/a\t2020-01-01 00:00:00\t3600\n"
    )
    built = build_bids_manifest(tmp_path / "bids")
    (row,) = built.rows
    assert (row.id, row.subject, row.group, row.label) == (stem, "sub-01", "sub-01_ses-01", 1)
    assert built.events[stem] == [Event(12.0, 30.0, "sz_foc_ia")]


def test_unreadable_sidecar_is_reported_not_raised(tmp_path):
    folder = tmp_path / "tusz"
    folder.mkdir()
    (folder / "aaaaaaad_s001_t000.edf").write_bytes(b"x")
    (folder / "aaaaaaad_s001_t000.csv_bi").write_text(
        "channel,start_time,stop_time,label,confidence\nTERM,ten,20,seiz,1\n"
    )
    built = build_tusz_manifest(folder)
    assert built.rows == []
    ((file, reason),) = built.problems
    assert Path(file).name == "aaaaaaad_s001_t000.edf" and "csv_bi" in reason


def test_tusz_builder_reads_old_tse_bi_annotations(tmp_path):
    folder = tmp_path / "tusz"
    folder.mkdir()
    (folder / "aaaaaaae_s001_t000.edf").write_bytes(b"x")
    (folder / "aaaaaaae_s001_t000.tse_bi").write_text(
        "version = tse_v1.0.0\n\n0.0000 10.0000 bckg 1.0000\n10.0000 25.5000 seiz 1.0000\n"
    )
    built = build_tusz_manifest(folder)
    assert [(r.id, r.label) for r in built.rows] == [("aaaaaaae_s001_t000", 1)]
    assert built.events["aaaaaaae_s001_t000"] == [Event(10.0, 15.5, "sz")]
