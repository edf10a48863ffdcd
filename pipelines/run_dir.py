"""The run directory: atomic files, the resolved config, versions, seed and commit of a run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from eegseq.pipelines.config import JobConfig, to_yaml

_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the process umask, to give atomically written files ordinary permissions

PACKAGES = ("eegseq", "tensorflow", "tf-keras", "numpy", "scipy", "h5py", "mne", "scikit-learn", "timescoring")


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared like any file
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: Path, data) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def git_commit() -> str | None:
    """The commit of the eegseq source tree, when it is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def versions() -> dict[str, str | None]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {"python": platform.python_version(), **found}


def record_run(run_dir: Path, config: JobConfig) -> None:
    """Write ``config.yaml`` (resolved) and ``environment.json`` (versions, seed, commit)."""
    atomic_write_text(run_dir / "config.yaml", to_yaml(config))
    atomic_write_json(
        run_dir / "environment.json",
        {
            "versions": versions(),
            "seed": config.train.seed,
            "git_commit": git_commit(),
            "platform": platform.platform(),
        },
    )
