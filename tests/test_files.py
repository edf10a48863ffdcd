"""The one atomic-write helper: whole or nothing, flushed before and after the rename, ordinary
permissions, leftovers of a killed writer removed, a full disk keeps the old file."""

import errno
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from eegseq import files
from eegseq.files import (
    atomic_directory,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    is_temporary,
    remove_stale_temporaries,
)


def test_failed_write_keeps_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_file_is_flushed_before_the_rename_and_its_folder_after(tmp_path, monkeypatch):
    """Without the fsyncs a power loss can leave a renamed but empty file."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(handle):
        mode = os.fstat(handle).st_mode
        events.append(("fsync folder" if stat.S_ISDIR(mode) else "fsync file", os.fstat(handle).st_size))
        real_fsync(handle)

    def replace(source, target):
        events.append(("rename", os.path.basename(target)))
        real_replace(source, target)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    atomic_write_text(tmp_path / "a.txt", "twelve bytes")
    assert events[0] == ("fsync file", 12)
    assert events[1] == ("rename", "a.txt")
    assert events[2][0] == "fsync folder"


@pytest.mark.parametrize("umask", [0o022, 0o007])
def test_files_get_ordinary_permissions(tmp_path, umask):
    """As ``open(path, "w")`` would make them (mkstemp's 0600 made shared results unreadable)."""
    previous = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_path(tmp_path / "b.bin") as temporary:
            temporary.write_bytes(b"x")
    finally:
        os.umask(previous)
    for name in ("a.txt", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_json_keeps_the_order_it_was_given(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"step": 3, "epoch": 0, "val_auc": None})
    assert (tmp_path / "a.json").read_text() == '{\n  "step": 3,\n  "epoch": 0,\n  "val_auc": null\n}\n'


def test_temporaries_keep_the_suffixes_writers_choose_formats_by(tmp_path):
    with atomic_path(tmp_path / "best.weights.h5") as temporary:
        assert temporary.name.endswith(".weights.h5") and temporary.parent == tmp_path
        assert is_temporary(temporary)


def test_a_killed_writer_leaves_only_a_temporary_which_the_next_opening_removes(tmp_path):
    (tmp_path / "kept.json").write_text("{}")
    (tmp_path / ".lock").write_text("")  # an ordinary hidden file is not a temporary
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from eegseq.files import atomic_directory, atomic_path
        folder = Path({str(tmp_path)!r})
        with atomic_directory(folder / "ckpt-000000002") as partial:
            (partial / "weights").write_bytes(b"1" * 100)
            with atomic_path(folder / "kept.json") as temporary:
                temporary.write_text("half")
                os._exit(9)  # SIGKILL-like: no clean-up runs
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 9, result.stderr.decode()[-2000:]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 4 and sum(is_temporary(name) for name in left) == 2
    removed = remove_stale_temporaries(tmp_path)
    assert len(removed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "kept.json"]
    assert (tmp_path / "kept.json").read_text() == "{}"


def test_stale_temporaries_in_subfolders_only_when_recursive(tmp_path):
    sub = tmp_path / "evaluation" / "test"
    sub.mkdir(parents=True)
    stale = sub / ".report.md.0123456789ab.tmp.md"
    stale.write_text("half")
    assert remove_stale_temporaries(tmp_path) == []
    assert remove_stale_temporaries(tmp_path, recursive=True) == [stale]
    assert not stale.exists()


def test_directory_replaces_a_leftover_and_is_removed_on_failure(tmp_path):
    final = tmp_path / "ckpt-000000004"
    final.mkdir()
    (final / "old").write_text("from a killed run")
    with atomic_directory(final) as temporary:
        (temporary / "meta.json").write_text("{}")
    assert sorted(p.name for p in final.iterdir()) == ["meta.json"]
    with pytest.raises(OSError), atomic_directory(tmp_path / "ckpt-000000006") as temporary:
        (temporary / "weights").write_text("part")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-000000004"]


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(small_disk):
    """A real full disk (a 64 KiB tmpfs)."""
    disk = small_disk(64)
    target = disk / "predictions.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(OSError) as error:
        atomic_write_bytes(target, b"x" * (256 * 1024))
    assert error.value.errno == errno.ENOSPC
    assert target.read_text() == "old\n"
    assert [p.name for p in disk.iterdir()] == ["predictions.csv"]
