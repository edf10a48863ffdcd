"""The lane stream as a ``tf.data.Dataset``, sharded across replicas and workers.

Kept apart from :mod:`eegseq.data.streamer` so that NumPy-only users (ingest workers, tests of
the schedule) never import TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from eegseq.data.normalisation import ChannelStats
from eegseq.data.streamer import LaneStreamer, StreamConfig


# Per-window scalars travel packed in one int64 vector: each generator component costs a
# Python-side conversion per element, so 3 components stream markedly faster than 9.
_PACKED = ("reset", "valid", "label", "start", "length", "epoch", "step")
_DTYPES = {"reset": tf.float32, "valid": tf.float32, "label": tf.int32, "start": tf.int64, "length": tf.int32,
           "epoch": tf.int64, "step": tf.int64}


def output_signature(streamer: LaneStreamer) -> dict[str, tf.TensorSpec]:
    """Specs of one batch of ``streamer`` (see :meth:`LaneStreamer.batches`)."""
    b, cfg = len(streamer.lanes), streamer.config
    specs = {"signal": tf.TensorSpec((b, cfg.context + cfg.window, streamer.n_channels), tf.float32),
             "recording_id": tf.TensorSpec((b,), tf.string)}
    specs.update({key: tf.TensorSpec((b,), dtype) for key, dtype in _DTYPES.items()})
    specs["epoch"] = specs["step"] = tf.TensorSpec((), tf.int64)
    return specs


def make_dataset(streamers: LaneStreamer | Sequence[LaneStreamer], *, start: dict | None = None,
                 epochs: int | None = 1, prefetch: int = tf.data.AUTOTUNE) -> tf.data.Dataset:
    """A dataset of batches (dicts of tensors, :func:`output_signature`, values as
    :meth:`LaneStreamer.batches`) from position ``start``, prefetched.

    With several streamers (the shards of one input pipeline's replicas), each step yields one
    batch per streamer, in order: that is how ``tf.distribute`` dequeues a worker's dataset,
    one element per local replica per step.

    The generator hands over lane-windows (views into the lanes' blocks, no copy in Python)
    and ``batch`` stacks them in C++: a Python generator of whole batches costs an extra copy.
    Prefetching runs the generator ahead of the consumer: checkpoint the position from the
    ``epoch``/``step`` of the last *consumed* batch, ``streamer.position(epoch, step + 1)``.
    """
    streamers = [streamers] if isinstance(streamers, LaneStreamer) else list(streamers)
    lanes, cfg = len(streamers[0].lanes), streamers[0].config

    def generate():
        per_streamer = [s.lane_windows(start=start, epochs=epochs) for s in streamers]
        while True:
            for windows in per_streamer:
                rows = [w for _, w in zip(range(lanes), windows)]
                if not rows:
                    return
                for w in rows:
                    yield w["signal"], np.array([w[key] for key in _PACKED], np.int64), w["recording_id"]

    def unpack(signal, packed, recording_id):
        batch = {"signal": signal, "recording_id": recording_id}
        batch.update({key: tf.cast(packed[:, i], _DTYPES[key]) for i, key in enumerate(_PACKED)})
        batch["epoch"], batch["step"] = batch["epoch"][0], batch["step"][0]
        return batch

    signature = (tf.TensorSpec((cfg.context + cfg.window, streamers[0].n_channels), tf.float32),
                 tf.TensorSpec((len(_PACKED),), tf.int64), tf.TensorSpec((), tf.string))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    dataset = dataset.batch(lanes, drop_remainder=True).map(unpack)
    return dataset.prefetch(prefetch)


def replica_shards(input_context: tf.distribute.InputContext | None) -> tuple[list[int], int]:
    """The global replica indices an input pipeline feeds, and the number of replicas.

    Lanes are sharded per replica: replica ``r`` of ``R`` owns the ``r``-th contiguous
    ``lanes / R`` lanes; input pipeline ``p`` of ``P`` feeds replicas ``[p R/P, (p+1) R/P)``.
    """
    if input_context is None:
        return [0], 1
    replicas, pipelines = input_context.num_replicas_in_sync, input_context.num_input_pipelines
    if replicas % pipelines:
        raise ValueError(f"{replicas} replicas cannot be split evenly over {pipelines} input pipelines")
    per_pipeline = replicas // pipelines
    first = input_context.input_pipeline_id * per_pipeline
    return list(range(first, first + per_pipeline)), replicas


def dataset_fn(stores: Sequence[str | os.PathLike], config: StreamConfig, stats: ChannelStats | None = None, *,
               start: dict | None = None, epochs: int | None = 1
               ) -> Callable[[tf.distribute.InputContext | None], tf.data.Dataset]:
    """A function for ``strategy.distribute_datasets_from_function``: each input pipeline streams
    the lanes of the replicas it feeds (whole recordings, never split across replicas);
    ``config.lanes`` is the global number of lanes and must be divisible by the replicas."""

    def build(input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        replicas, count = replica_shards(input_context)
        streamers = [LaneStreamer(stores, config, stats, shard_index=r, num_shards=count) for r in replicas]
        return make_dataset(streamers, start=start, epochs=epochs)

    return build
