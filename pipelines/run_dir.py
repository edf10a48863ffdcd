"""The run directory: one job at a time, refusals before anything is written, the run's record.

A job opens its run directory with :func:`open_run`, which locks it, removes what a killed job
left half-written, and decides (from what the folder holds and ``--resume``) whether the job
starts a run or continues one, comparing the saved ``config.yaml`` with the new config before any
training. Only then does a new run write its record (:func:`record_run`); a resumed one keeps it.
"""

from __future__ import annotations

import platform
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path

from eegseq.files import atomic_write_json, atomic_write_text, remove_stale_temporaries
from eegseq.locks import LockHeld, exclusive
from eegseq.pipelines.config import ConfigError, JobConfig, load_config, to_yaml
from eegseq.pipelines.errors import Refused

PACKAGES = ("eegseq", "tensorflow", "tf-keras", "numpy", "scipy", "h5py", "mne", "scikit-learn", "timescoring")
CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"
# Settings a resume may change: they do not touch what the run computes (``compare`` configures
# the comparison around a run, not the run).
RESUMABLE_CHANGES = ("train.progress", "data.workers", "compare")


class RunDirError(Refused):
    """The run directory cannot be used as asked (in use, not writable, holding another run)."""


class ModelFileError(Refused):
    """A run's ``model.keras`` is missing, unreadable, or holds what safe loading refuses."""


def checkpoint_dir(run_dir: Path, worker: int) -> Path:
    """The checkpoint folder of training worker ``worker``."""
    return run_dir / "checkpoints" / f"worker-{worker}"


@contextmanager
def locked(run_dir: Path, worker: int = 0) -> Iterator[None]:
    """Hold ``run_dir`` for worker ``worker`` (an exclusive ``flock``, released when the process
    ends however it ends): a second job on the same run directory is refused, not interleaved.

    Workers of one multi-worker run hold one lock each; ``evaluate`` holds worker 0's, as the
    chief's files are what it rewrites.
    """
    lock_path = run_dir / f".worker-{worker}.lock"
    with ExitStack() as held:
        try:
            held.enter_context(exclusive(lock_path))
        except LockHeld as other:
            raise RunDirError(
                f"{run_dir} is in use by another eegseq job (process {other.holder}, lock {lock_path.name}); "
                "wait for it to finish or choose another --run-dir"
            ) from None
        except OSError as error:
            raise RunDirError(
                f"{run_dir}: cannot write to the run directory ({error.strerror}); choose a writable --run-dir"
            ) from None
        yield


def holds_run(run_dir: Path, worker: int = 0) -> bool:
    """Whether ``run_dir`` holds a run for this worker: its record (chief) or a checkpoint."""
    recorded = worker == 0 and (run_dir / CONFIG_FILE).exists()
    return recorded or (checkpoint_dir(run_dir, worker) / "latest").exists()


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_changes(saved: JobConfig, new: JobConfig) -> list[str]:
    """``field: saved -> new`` for every setting that differs, except :data:`RESUMABLE_CHANGES`."""
    old, now = _flatten(saved.model_dump(mode="json")), _flatten(new.model_dump(mode="json"))
    changed = sorted(key for key in old.keys() | now.keys() if old.get(key, "(unset)") != now.get(key, "(unset)"))
    return [
        f"{key}: {old.get(key, '(unset)')!r} -> {now.get(key, '(unset)')!r}"
        for key in changed
        if not any(key == allowed or key.startswith(f"{allowed}.") for allowed in RESUMABLE_CHANGES)
    ]


def _check_resumable(run_dir: Path, config: JobConfig) -> None:
    saved_path = run_dir / CONFIG_FILE
    if not saved_path.exists():
        return  # a run killed before its record: its checkpoints restore or refuse by themselves
    try:
        saved = load_config(saved_path)
    except ConfigError as error:
        raise RunDirError(f"cannot resume: the run's {error}") from None
    changes = config_changes(saved, config)
    if changes:
        raise RunDirError(
            f"cannot resume {run_dir}: the config differs from the run's {saved_path.name} (saved -> now):\n  "
            + "\n  ".join(changes)
            + "\nresume with the saved settings (--config "
            + str(saved_path)
            + ") or start a new run in another --run-dir"
        )


@contextmanager
def open_run(run_dir: Path, config: JobConfig, resume: bool, worker: int = 0) -> Iterator[bool]:
    """Lock ``run_dir`` for this worker, clean up after a killed job, and decide: yield whether the
    job continues a run (True) or starts one (False).

    Raises:
        RunDirError: the folder is in use or not writable; it holds a run and ``resume`` is False;
            or ``resume`` is True and the config differs from the saved one (the message lists the
            fields). Nothing in the folder has been changed.
    """
    with locked(run_dir, worker):
        continuing = holds_run(run_dir, worker)
        if continuing and not resume:
            raise RunDirError(
                f"{run_dir} already holds a run; pass --resume to continue it, or choose another --run-dir"
            )
        if continuing:
            _check_resumable(run_dir, config)
        if worker == 0:
            remove_stale_temporaries(run_dir)  # checkpoint folders are cleaned by their own worker
        yield continuing


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
    """Write ``config.yaml`` (resolved) and ``environment.json`` (versions, seed, commit) of a new run."""
    atomic_write_text(run_dir / CONFIG_FILE, to_yaml(config))
    atomic_write_json(
        run_dir / "environment.json",
        {
            "versions": versions(),
            "seed": config.train.seed,
            "git_commit": git_commit(),
            "platform": platform.platform(),
        },
    )


def load_model_file(path: Path):
    """Load a run's Keras model in safe mode (no ``Lambda`` code, no pickles).

    Raises:
        ModelFileError: naming ``path``, when it is missing, not a whole ``.keras`` archive
            (truncated, overwritten), or refused or unreadable by Keras.
    """
    import tf_keras as keras

    from eegseq.models import StreamModel  # noqa: F401  (imports and so registers the custom layers)

    if not path.exists():
        raise ModelFileError(f"{path} does not exist: train first (eegseq train --run-dir {path.parent})")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a Keras model file (a .keras file is a zip archive; this one is truncated or holds "
            "something else): train again, or restore the file"
        )
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        refused = "safe_mode" in str(error)
        raise ModelFileError(
            f"{path}: "
            + ("refused by Keras safe mode" if refused else "cannot load the model")
            + f" ({type(error).__name__}: {error})"
        ) from None
