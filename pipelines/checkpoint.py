"""Atomic training checkpoints: model, optimizer, per-lane states and masks, stream position.

A checkpoint is a folder ``ckpt-<step>`` written under a temporary name, flushed to disk and
renamed when complete (:func:`eegseq.files.atomic_directory`); the ``latest`` file names the
newest and is itself replaced atomically. A job killed at any moment leaves at worst a temporary
folder, which the next run removes; a write that fails (a full disk) removes its own and leaves
``latest`` on the last good checkpoint. The random state
of a run is its seed: masks are keyed statelessly by (seed, epoch, recording, position) and the
stream is a pure function of its position, so nothing else needs saving.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf

from eegseq.files import atomic_directory, atomic_write_json, atomic_write_text, remove_stale_temporaries

LATEST = "latest"


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (a full disk, an I/O error); the last good one is kept."""


class Checkpointer:
    """Save and restore training checkpoints in ``directory``.

    Args:
        directory: this worker's checkpoint folder.
        model, optimizer: restored in place.
        keep: complete checkpoints kept (older ones are deleted after a new one is in place).
    """

    def __init__(self, directory: Path, model, optimizer, keep: int = 2):
        self.directory = Path(directory)
        self.keep = keep
        self._checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
        self.directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.directory)  # a save interrupted by a kill

    def _pointer_text(self) -> str | None:
        pointer = self.directory / LATEST
        return pointer.read_text().strip() if pointer.exists() else None

    def latest(self) -> Path | None:
        name = self._pointer_text()
        if name is None:
            return None
        pointer, path = self.directory / LATEST, self.directory / name
        if not (path / "meta.json").exists():
            raise FileNotFoundError(f"{pointer} names {path.name}, which is missing or incomplete")
        return path

    def save(self, step: int, lanes: dict[str, np.ndarray], meta: dict) -> Path:
        """Write checkpoint ``step``: weights and optimizer, ``lanes.npz``, ``meta.json``."""
        final = self.directory / f"ckpt-{step:09d}"
        try:
            # A checkpoint of the same step left by a killed run is replaced.
            with atomic_directory(final) as temporary:
                self._checkpoint.write(str(temporary / "weights"))
                with open(temporary / "lanes.npz", "wb") as file:
                    np.savez(file, **lanes)
                atomic_write_json(temporary / "meta.json", meta)
            atomic_write_text(self.directory / LATEST, final.name)
        except (OSError, tf.errors.OpError) as error:
            kept = self._pointer_text()
            reason = (error.strerror if isinstance(error, OSError) else error.message) or error
            raise CheckpointWriteError(
                f"cannot write checkpoint {final} ({reason}); "
                + (f"the last good checkpoint {kept} is kept: " if kept else "no checkpoint was kept: ")
                + "free space in the run directory, then run the same command with --resume"
            ) from None
        for old in sorted(self.directory.glob("ckpt-*"))[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def restore(self, path: Path) -> tuple[dict[str, np.ndarray], dict]:
        """Restore model and optimizer in place; return ``(lanes, meta)``."""
        self._checkpoint.read(str(path / "weights")).assert_existing_objects_matched()
        with np.load(path / "lanes.npz", allow_pickle=False) as lanes:
            lane_arrays = {name: lanes[name] for name in lanes.files}
        return lane_arrays, json.loads((path / "meta.json").read_text())
