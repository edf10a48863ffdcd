"""What a training run remembers: its progress (checkpointed with the weights, as JSON) and ``history.csv``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from eegseq.files import atomic_write_text


@dataclass
class Progress:
    """What a checkpoint holds besides weights and lanes (JSON)."""

    global_step: int = 0
    position: dict | None = None
    history: list[dict] = field(default_factory=list)
    recent_losses: list[float] = field(default_factory=list)
    best_score: float | None = None
    best_epoch: int | None = None
    epochs_without_improvement: int = 0
    stopped_early: bool = False


def write_history_csv(path: Path, history: list[dict]) -> None:
    """One row per epoch record (the keys of the first record are the columns), written atomically."""
    buffer = io.StringIO()
    fields = list(history[0]) if history else ["epoch"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())
