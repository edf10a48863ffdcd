"""The run plan: everything a job derives from its config and its store, resolved and checked once.

``train``, ``evaluate``, ``predict`` and ``compare`` take a :class:`RunPlan` instead of converting
settings themselves: the sampling rate, the stream in samples, the store files of each split, the
channel statistics, the model's receptive field and context, the lanes of each replica and the
mask-key rule. :meth:`RunPlan.validate` holds the checks a job runs before its first step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from eegseq.data.manifest import ManifestRow
from eegseq.data.normalisation import ChannelStats
from eegseq.data.schedule import equal_share
from eegseq.data.streamer import LaneStreamer, StreamConfig
from eegseq.models import ModelConfig, StreamModel, context_samples, receptive_field, total_stride
from eegseq.pipelines.config import JobConfig
from eegseq.pipelines.errors import Refused
from eegseq.pipelines.ingest import PreparedData
from eegseq.rnn import recording_keys

RUN_SPLITS = ("train", "val", "test")  # what ``eegseq train`` reads: it trains, validates, then evaluates test


class PlanError(Refused, ValueError):
    """A config that cannot run on this store or with this model; the message names the setting and the fix."""


def to_samples(seconds: float, sfreq: float) -> int:
    """Seconds -> samples at ``sfreq`` Hz, rounded to the nearest sample (the one rule of every job)."""
    return int(round(seconds * sfreq))


@dataclass(frozen=True)
class ModelGeometry:
    """What the stream must know of a model, in input samples.

    Attributes:
        receptive_field: input samples one front-end output depends on.
        stride: input samples per front-end output step (windows are multiples of it).
        context: left context each window carries (``receptive_field - 1`` rounded up to ``stride``).
    """

    receptive_field: int
    stride: int
    context: int

    @classmethod
    def of_config(cls, model: ModelConfig) -> ModelGeometry:
        blocks = model.frontend
        return cls(receptive_field(blocks), total_stride(blocks), context_samples(blocks))

    @classmethod
    def of_model(cls, model: StreamModel) -> ModelGeometry:
        """The geometry of a built or loaded model (a saved model need not match the config)."""
        return cls(model.receptive_field, model.stride, model.context)


@dataclass(frozen=True)
class RunPlan:
    """One run's resolved settings; build it with :meth:`build`.

    Attributes:
        config: the validated job config.
        data: the ingested store (folder, manifest rows loaded once, training-split statistics).
        sfreq: the store's one sampling rate, Hz.
        stream: the stream in samples (window, block, context of the model, lanes, seed, labels).
        geometry: the model's receptive field, stride and context.
        replicas: replicas in sync (all workers together); each plays ``lanes_per_replica`` lanes.
    """

    config: JobConfig
    data: PreparedData
    sfreq: float
    stream: StreamConfig
    geometry: ModelGeometry
    replicas: int = 1

    @classmethod
    def build(
        cls, config: JobConfig, data: PreparedData, *, replicas: int = 1, geometry: ModelGeometry | None = None
    ) -> RunPlan:
        """Resolve ``config`` against the store ``data`` (``geometry``: default the config's model)."""
        rates = sorted({row.sfreq for row in data.rows})
        if len(rates) != 1:
            raise PlanError(
                f"{data.manifest}: recordings have different sampling rates {rates}; "
                "set data.target_sfreq to resample them to one"
            )
        sfreq = float(rates[0])
        geometry = ModelGeometry.of_config(config.model) if geometry is None else geometry
        section = config.stream
        stream = StreamConfig(
            lanes=section.lanes,
            window=to_samples(section.window_seconds, sfreq),
            context=geometry.context,
            seed=config.train.seed,
            block_samples=to_samples(section.block_seconds, sfreq),
            min_valid_fraction=section.min_valid_fraction,
            labels=section.labels,
        )
        plan = cls(config, data, sfreq, stream, geometry, replicas)
        plan._check_stream()
        return plan

    def _check_stream(self) -> None:
        """What every use of the stream needs: whole front-end steps per window, whole lane shares per replica."""
        if self.stream.window % self.geometry.stride:
            raise PlanError(
                f"stream.window_seconds={self.config.stream.window_seconds:g} is {self.stream.window} samples at "
                f"{self.sfreq:g} Hz, not a multiple of the model's total stride {self.geometry.stride} "
                "(the product of model.frontend strides)"
            )
        equal_share(self.stream.lanes, 0, self.replicas, "stream.lanes", "replicas")

    def validate(self, splits: tuple[str, ...] = RUN_SPLITS, *, trains: bool = True) -> None:
        """The checks a job runs before its first step, so that nothing fails after hours of training.

        * every split in ``splits`` holds recordings;
        * when the job ``trains``, the ``train`` split holds labelled windows of both classes (with one
          class there is nothing to learn, and ``balanced`` class weights would silently be 1 and 1);
        * when ``val`` is read and ``evaluation.threshold_method`` is not ``fixed``, ``val`` holds
          labelled windows of both classes (the decision threshold is chosen there).

        Raises:
            PlanError: naming the split, what it lacks and the setting that fixes it.
        """
        for split in splits:
            self._check_split_exists(split)
        if trains:
            self._check_both_classes("train", "there is nothing to learn (balanced class weights would be 1 and 1)")
        method = self.config.evaluation.threshold_method
        if "val" in splits and method != "fixed":
            self._check_both_classes(
                "val",
                f"evaluation.threshold_method={method!r} cannot choose a threshold there; use the fixed threshold "
                f"(--set evaluation.threshold_method=fixed, at evaluation.fixed_threshold="
                f"{self.config.evaluation.fixed_threshold:g})",
            )

    def _check_split_exists(self, split: str) -> None:
        try:
            self.rows(split)
        except ValueError as error:
            fix = (
                "choose --split among the splits there are"
                if split not in RUN_SPLITS
                else "a run trains on 'train', validates on 'val' and is evaluated on 'test': give each split "
                "recordings (data.split.fractions, or data.split.by with more subjects or groups than splits)"
            )
            raise PlanError(f"{error}; {fix}") from None

    def _check_both_classes(self, split: str, consequence: str) -> None:
        background, seizure = self.label_counts(split)
        if background and seizure:
            return
        rule = self.stream.labels
        missing = "seizure windows (label 1)" if not seizure else "background windows (label 0)"
        raise PlanError(
            f"the {split!r} split holds no {missing} among its {background + seizure} labelled windows "
            f"(stream.labels: source={rule.source!r}, event_types={list(rule.event_types)}): {consequence}. "
            f"Or put recordings of both classes in {split!r} (e.g. another --set data.split.seed=N), "
            "or check stream.labels against the events in the store"
        )

    def label_counts(self, split: str) -> tuple[int, int]:
        """Windows of ``split`` labelled 0 and labelled 1 (unlabelled ones excluded), from the recordings'
        events or labels alone: no samples are read."""
        streamer = LaneStreamer(self.stores(split), self.stream, self.stats)
        labels = np.concatenate([streamer.window_labels(i) for i in range(len(streamer.recordings))])
        return int((labels == 0).sum()), int((labels == 1).sum())

    # ---- the store ----------------------------------------------------------------------------
    @property
    def stats(self) -> ChannelStats:
        return self.data.stats

    def rows(self, split: str) -> list[ManifestRow]:
        """Manifest rows of ``split``, in manifest order; a clear error when the split is empty or unknown."""
        return self.data.rows_of(split)

    def stores(self, split: str) -> list[Path]:
        """Store files of ``split``, in manifest order."""
        return self.data.stores(split)

    # ---- the stream ---------------------------------------------------------------------------
    @property
    def window_seconds(self) -> float:
        """Seconds of one window (its samples at the store's rate)."""
        return self.stream.window / self.sfreq

    @property
    def lanes_per_replica(self) -> int:
        return self.stream.lanes // self.replicas

    def replica_lanes(self, replica: int) -> range:
        """The global lanes replica ``replica`` plays (contiguous, the same share as its streamer's)."""
        return equal_share(self.stream.lanes, replica, self.replicas, "stream.lanes", "replicas")

    def mask_keys(self, recording_ids: tf.Tensor, epoch: tf.Tensor) -> tf.Tensor:
        """``(lanes,)`` int64 mask keys of the recordings played in ``epoch`` (:func:`eegseq.rnn.recording_keys`)."""
        return recording_keys(recording_ids, epoch, self.config.train.seed)
