"""Test-wide settings (quiet TensorFlow, deterministic ops) and file-system fault fixtures."""

import os
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")


def _mount(*args: str) -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """``make(kib)`` mounts a tmpfs of ``kib`` KiB under ``tmp_path`` and returns its folder: a real
    full disk (ENOSPC). Needs root and a mount permission; skipped otherwise."""
    mounted = []

    def make(kib: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        if not _mount("-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(folder)):
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder no write into succeeds: a read-only bind mount as root (where permission bits do not
    stop writes), else a folder without write permission."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    (folder / "existing.txt").write_text("kept\n")
    if os.geteuid() == 0:
        if not _mount("--bind", "-o", "ro", str(folder), str(folder)):
            pytest.skip("cannot bind-mount read-only here")
        yield folder
        subprocess.run(["umount", "-l", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
