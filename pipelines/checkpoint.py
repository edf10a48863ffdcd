"""Atomic training checkpoints: model, optimizer, per-lane states and masks, stream position.

A checkpoint is a folder ``ckpt-<step>`` written under a temporary name and renamed when
complete; the ``latest`` file names the newest and is itself replaced atomically. A job killed
at any moment leaves at worst a temporary folder, which the next run removes. The random state
of a run is its seed: masks are keyed statelessly by (seed, epoch, recording, position) and the
stream is a pure function of its position, so nothing else needs saving.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf

from eegseq.pipelines.run_dir import atomic_write_json, atomic_write_text

LATEST = "latest"


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
        for stale in self.directory.glob(".tmp-*"):  # a save interrupted by a kill
            shutil.rmtree(stale, ignore_errors=True)

    def latest(self) -> Path | None:
        pointer = self.directory / LATEST
        if not pointer.exists():
            return None
        path = self.directory / pointer.read_text().strip()
        if not (path / "meta.json").exists():
            raise FileNotFoundError(f"{pointer} names {path.name}, which is missing or incomplete")
        return path

    def save(self, step: int, lanes: dict[str, np.ndarray], meta: dict) -> Path:
        """Write checkpoint ``step``: weights and optimizer, ``lanes.npz``, ``meta.json``."""
        final = self.directory / f"ckpt-{step:09d}"
        temporary = self.directory / f".tmp-{final.name}-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        self._checkpoint.write(str(temporary / "weights"))
        with open(temporary / "lanes.npz", "wb") as file:
            np.savez(file, **lanes)
        atomic_write_json(temporary / "meta.json", meta)
        shutil.rmtree(final, ignore_errors=True)  # a checkpoint of the same step from a killed run
        os.replace(temporary, final)
        atomic_write_text(self.directory / LATEST, final.name)
        for old in sorted(self.directory.glob("ckpt-*"))[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def restore(self, path: Path) -> tuple[dict[str, np.ndarray], dict]:
        """Restore model and optimizer in place; return ``(lanes, meta)``."""
        self._checkpoint.read(str(path / "weights")).assert_existing_objects_matched()
        with np.load(path / "lanes.npz", allow_pickle=False) as lanes:
            lane_arrays = {name: lanes[name] for name in lanes.files}
        return lane_arrays, json.loads((path / "meta.json").read_text())
