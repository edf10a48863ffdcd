"""``eegseq compare``: train and evaluate each dropout preset on the same data, side by side."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from eegseq.files import atomic_write_json, atomic_write_text
from eegseq.models import DropoutConfig
from eegseq.pipelines.config import JobConfig
from eegseq.pipelines.evaluate import evaluate_job
from eegseq.pipelines.train import train_job

COLUMNS = ("preset", "window_roc_auc", "event_f1", "best_epoch", "val_auc_std", "final_train_loss", "minutes")


def _variant(config: JobConfig, preset: str) -> JobConfig:
    rate = None if preset == "none" else config.compare.rate
    rnn = config.model.rnn.model_copy(update={"dropout": DropoutConfig(preset=preset, rate=rate), "per_layer": []})
    return config.model_copy(update={"model": config.model.model_copy(update={"rnn": rnn})})


def compare_job(config: JobConfig, run_dir: Path, resume: bool = False) -> Path:
    """Train every preset of ``config.compare`` under ``run_dir/<preset>/``; write ``comparison.md`` and ``.json``.

    Each variant is an ordinary resumable run, so an interrupted comparison continues with ``--resume``.
    Stability is the standard deviation of the validation AUC over epochs.
    """
    rows = []
    for preset in config.compare.presets:
        variant_dir = run_dir / preset
        started = time.perf_counter()
        finished = (variant_dir / "evaluation" / "test" / "report.md").exists()
        if not finished:
            train_job(_variant(config, preset), variant_dir, resume=resume)
            evaluate_job(variant_dir, "test", _variant(config, preset))
        metrics = json.loads((variant_dir / "metrics.json").read_text())
        history = metrics["training"]["history"]
        aucs = [h["val_auc"] for h in history if h["val_auc"] is not None]
        headline = metrics["evaluation"]["test"]["headline"]
        rows.append(
            {
                "preset": preset,
                "window_roc_auc": headline.get("window_roc_auc"),
                "event_f1": headline.get("event_f1"),
                "best_epoch": metrics["training"]["best_epoch"],
                "val_auc_std": float(np.std(aucs)) if aucs else None,
                "final_train_loss": history[-1]["train_loss"] if history else None,
                "minutes": None if finished else (time.perf_counter() - started) / 60,
            }
        )
    atomic_write_json(run_dir / "comparison.json", rows)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append(
            "| "
            + " | ".join(
                "–" if row[c] is None else f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c])
                for c in COLUMNS
            )
            + " |"
        )
    return atomic_write_text(run_dir / "comparison.md", "# Dropout variants\n\n" + "\n".join(lines) + "\n")
