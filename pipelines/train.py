"""The training job: stream lanes from the store through the stateful model, checkpoint, resume.

Each replica owns a disjoint set of lanes and carries their states and masks from window to
window by explicit state passing. The loop lives here; its parts have their own modules: the
strategy and the lanes' per-replica states (:mod:`.distribution`), the step (:mod:`.train_step`),
validation and early stopping (:mod:`.validation`), progress and history (:mod:`.history`).
"""

from __future__ import annotations

import logging
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from eegseq.data.streamer import LaneStreamer
from eegseq.data.tfdata import dataset_fn
from eegseq.files import atomic_path, atomic_write_json
from eegseq.models import StreamModel
from eegseq.pipelines.checkpoint import Checkpointer
from eegseq.pipelines.config import JobConfig
from eegseq.pipelines.distribution import ReplicaLanes, make_strategy, worker_index
from eegseq.pipelines.history import Progress, write_history_csv
from eegseq.pipelines.ingest import run_ingest
from eegseq.pipelines.plan import RunPlan
from eegseq.pipelines.predict import predict_split
from eegseq.pipelines.progress import StepProgress
from eegseq.pipelines.run_dir import checkpoint_dir, open_run, record_run
from eegseq.pipelines.train_step import TrainStep, class_weights, make_optimizer
from eegseq.pipelines.validation import early_stopping, validation_metrics

log = logging.getLogger(__name__)


class TrainingStopped(RuntimeError):
    """Training stopped before its end (divergence, a non-finite loss); the last good checkpoint is kept.

    Attributes:
        reason: ``"non_finite"`` or ``"diverged"`` (see :func:`loss_problem`), None for a stop by signal.
        step: the global step (1-based) whose loss stopped training, None for a stop by signal.
    """

    def __init__(self, message: str, reason: str | None = None, step: int | None = None):
        super().__init__(message)
        self.reason, self.step = reason, step


class StoppedBySignal(TrainingStopped):
    """SIGTERM asked the job to stop: a checkpoint was written and ``--resume`` continues it."""


class Trainer:
    """Holds the model, optimizer, data and loop of one training run."""

    def __init__(self, plan: RunPlan, run_dir: Path, strategy: tf.distribute.Strategy):
        self.plan, self.config, self.run_dir, self.strategy = plan, plan.config, run_dir, strategy
        self.worker = worker_index(strategy)[0]
        self.is_chief = self.worker == 0
        train = self.config.train
        keras.utils.set_random_seed(train.seed)
        with strategy.scope():
            self.model = StreamModel.build(self.config.model)
        self.streamer = LaneStreamer(plan.stores("train"), plan.stream, plan.stats)
        self.weights = class_weights(train, plan.label_counts("train"))
        with strategy.scope():
            self.optimizer = make_optimizer(train, self.streamer.steps_in_epoch(0))
            self.optimizer.build(self.model.model.trainable_variables)
        self.checkpointer = Checkpointer(
            checkpoint_dir(run_dir, self.worker),
            self.model.model,
            self.optimizer,
            keep=train.keep_checkpoints,
        )
        self.lanes = ReplicaLanes(plan, self.model, strategy)
        self.step = TrainStep(plan, self.model, self.optimizer, strategy, self.weights)
        self._stop_requested = False

    # ---- the loop -----------------------------------------------------------------------------
    def run(self) -> Progress:
        """Train from the latest checkpoint (whether to resume was decided by :func:`open_run`) to the end."""
        train = self.config.train
        progress, lanes = Progress(), None
        latest = self.checkpointer.latest()
        if latest is not None:
            lanes, meta = self.checkpointer.restore(latest)
            progress = Progress(**meta)
            log.info("resumed from %s (step %d)", latest.name, progress.global_step)
        if progress.stopped_early or (progress.position and progress.position["epoch"] >= train.epochs):
            return progress
        state = self.lanes.distribute(lanes)
        batches = iter(self.dataset(progress.position))
        previous = signal.signal(signal.SIGTERM, self._request_stop)
        writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard")) if self.is_chief else None
        total_steps = sum(self.streamer.steps_in_epoch(e) for e in range(train.epochs))
        bar = StepProgress(total_steps, progress.global_step, enabled=train.progress and self.is_chief)
        started, seconds_played, waited = time.perf_counter(), 0.0, 0.0
        clocked = not train.deterministic  # see step()
        try:
            for _ in range(progress.global_step, total_steps):  # the stream from the position holds exactly these
                loss, seconds, state, epoch, step, wait = self.step(batches, state)
                loss, epoch, step = float(loss.numpy()), int(epoch.numpy()), int(step.numpy())
                wait = float(wait.numpy()) if clocked else 0.0
                waited += wait
                self._guard(loss, progress)
                progress.global_step += 1
                progress.position = self.streamer.position(epoch, step + 1)
                seconds_played += float(seconds.numpy())
                elapsed = time.perf_counter() - started
                bar.update(
                    loss=f"{loss:.4f}",
                    rec_s_per_s=f"{seconds_played / elapsed:.0f}",
                    **({"input_wait": f"{waited / elapsed:.1%}"} if clocked else {}),
                )
                if writer is not None:
                    with writer.as_default():
                        tf.summary.scalar("train/loss", loss, step=progress.global_step)
                        if clocked:
                            tf.summary.scalar("train/input_wait_ms", 1e3 * wait, step=progress.global_step)
                progress.recent_losses = (progress.recent_losses + [loss])[-200:]
                epoch_done = step + 1 == self.streamer.steps_in_epoch(epoch)
                if epoch_done:
                    self._end_epoch(epoch, progress, writer)
                if epoch_done or progress.global_step % train.checkpoint_every == 0 or self._stop_requested:
                    self.checkpointer.save(progress.global_step, self.lanes.gather(state), progress.__dict__)
                if progress.stopped_early:
                    break
                if self._stop_requested:
                    raise StoppedBySignal(
                        f"stopped by SIGTERM after step {progress.global_step}; checkpoint saved in "
                        f"{self.checkpointer.directory}; run the same command with --resume to continue"
                    )
        finally:
            bar.close()
            signal.signal(signal.SIGTERM, previous)
        return progress

    def dataset(self, position: dict | None):
        """The distributed training stream from ``position`` (None: the start) to the last epoch."""
        plan, epochs = self.plan, self.config.train.epochs
        stream = dataset_fn(plan.stores("train"), plan.stream, plan.stats, start=position, epochs=epochs)
        return self.strategy.distribute_datasets_from_function(stream)

    def _request_stop(self, signum, frame):
        self._stop_requested = True

    def _guard(self, loss: float, progress: Progress) -> None:
        """Stop before anything of a bad step is saved (see :func:`loss_problem`)."""
        problem = loss_problem(loss, progress.recent_losses, self.weights, self.config.train.divergence_factor)
        if problem:
            step = progress.global_step + 1
            raise TrainingStopped(
                f"{problem} at step {step}; stopped, keeping the last good checkpoint in "
                f"{self.checkpointer.directory} (lower train.learning_rate or set train.clip_norm)",
                reason="diverged" if math.isfinite(loss) else "non_finite",
                step=step,
            )

    def _end_epoch(self, epoch: int, progress: Progress, writer) -> None:
        """Validate by streaming the validation recordings whole; early stopping; keep the best weights."""
        predictions = predict_split(self.model, self.plan, "val")
        record = {
            "epoch": epoch,
            "step": progress.global_step,
            "train_loss": float(np.mean(progress.recent_losses[-self.streamer.steps_in_epoch(epoch) :])),
            **validation_metrics(predictions),
        }
        progress.history.append(record)
        if early_stopping(progress, record, self.config.train.early_stopping_patience) and self.is_chief:
            self._save_weights(self.run_dir / "best.weights.h5")
        if self.is_chief:
            write_history_csv(self.run_dir / "history.csv", progress.history)
            if writer is not None:
                with writer.as_default():
                    for key, value in record.items():
                        if key not in ("epoch", "step") and value is not None:
                            tf.summary.scalar(f"epoch/{key}", value, step=epoch)
        log.info("epoch %d: %s", epoch, record)

    def _save_weights(self, path: Path) -> None:
        with atomic_path(path) as temporary:
            self.model.model.save_weights(temporary)


def loss_problem(loss: float, recent: list[float], weights: tuple[float, float], factor: float) -> str | None:
    """Why ``loss`` should stop training, or None.

    A non-finite loss stops at once. Divergence: the mean of the last 20 losses (this one
    included) exceeds ``factor`` x a robust reference. Per-step losses are heavy-tailed (a rare
    seizure window under class weights costs far more than the background), so the reference is
    the median of ``recent``, floored at the loss of an uninformed prediction on the heaviest
    class (ln 2 x its weight), and single spikes are averaged out.
    """
    if not math.isfinite(loss):
        return f"loss became {loss}"
    if len(recent) < 20:
        return None
    reference = max(float(np.median(recent)), math.log(2) * max(weights))
    mean = float(np.mean(recent[-19:] + [loss]))
    if mean > factor * reference:
        return (
            f"training diverged: mean loss {mean:.4g} of the last 20 steps exceeds "
            f"train.divergence_factor={factor:g} x {reference:.4g}"
        )
    return None


@dataclass(frozen=True)
class TrainResult:
    summary: dict
    is_chief: bool  # this process writes the run's files (worker 0)


def train_job(config: JobConfig, run_dir: Path, resume: bool = False) -> TrainResult:
    """Run the whole training job; the summary is what ``metrics.json`` records under ``training``.

    The run directory is locked for the job; whether it starts or continues a run is decided
    before anything is written (see :func:`open_run`).
    """
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(config)
    with open_run(run_dir, config, resume, worker_index(strategy)[0]) as continuing:
        return _train(config, run_dir, strategy, continuing)


def _train(config: JobConfig, run_dir: Path, strategy: tf.distribute.Strategy, continuing: bool) -> TrainResult:
    data = run_ingest(config.data, progress=config.train.progress)
    plan = RunPlan.build(config, data, replicas=strategy.num_replicas_in_sync)
    plan.validate()
    trainer = Trainer(plan, run_dir, strategy)
    if trainer.is_chief and not continuing:
        record_run(run_dir, config)
    try:
        progress = trainer.run()
    except TrainingStopped as stopped:
        if trainer.is_chief and stopped.reason is not None:
            # Machine-readable for `compare`: which runs diverged, and when.
            record = {"reason": stopped.reason, "step": stopped.step, "message": str(stopped)}
            atomic_write_json(run_dir / "metrics.json", {"training": {"stopped": record}})
        raise
    summary = {
        "stopped": None,
        "steps": progress.global_step,
        "epochs_completed": len(progress.history),
        "best_epoch": progress.best_epoch,
        "stopped_early": progress.stopped_early,
        "history": progress.history,
        "class_weights": list(trainer.weights),
        "receptive_field_samples": plan.geometry.receptive_field,
        "context_samples": plan.geometry.context,
        "window_samples": plan.stream.window,
    }
    if trainer.is_chief:
        best = run_dir / "best.weights.h5"
        if best.exists():
            trainer.model.model.load_weights(best)
        with atomic_path(run_dir / "model.keras") as temporary:
            trainer.model.model.save(temporary)
        atomic_write_json(run_dir / "metrics.json", {"training": summary})
    return TrainResult(summary, trainer.is_chief)
