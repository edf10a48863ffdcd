"""The lane stream as a ``tf.data.Dataset``, sharded across replicas and workers.

Kept apart from :mod:`eegseq.data.streamer` so that NumPy-only users (ingest workers, tests of
the schedule) never import TensorFlow.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from eegseq.data.normalisation import ChannelStats
from eegseq.data.schedule import equal_share
from eegseq.data.streamer import LaneStreamer, StreamConfig

# Per-window scalars travel packed in one int64 matrix: each generator component costs a
# Python-side conversion per element, so 3 components stream markedly faster than 9.
_PACKED = ("reset", "valid", "label", "start", "length")
_DTYPES = {"reset": tf.float32, "valid": tf.float32, "label": tf.int32, "start": tf.int64, "length": tf.int32}
# groups a worker thread has ready (or is making) ahead of the one being consumed
GROUPS_AHEAD = 2


def output_signature(streamer: LaneStreamer) -> dict[str, tf.TensorSpec]:
    """Specs of one batch of ``streamer`` (see :meth:`LaneStreamer.batches`)."""
    b, cfg = len(streamer.lanes), streamer.config
    specs = {
        "signal": tf.TensorSpec((b, cfg.context + cfg.window, streamer.n_channels), tf.float32),
        "recording_id": tf.TensorSpec((b,), tf.string),
    }
    specs.update({key: tf.TensorSpec((b,), dtype) for key, dtype in _DTYPES.items()})
    specs["epoch"] = specs["step"] = tf.TensorSpec((), tf.int64)
    return specs


def make_dataset(
    streamers: LaneStreamer | Sequence[LaneStreamer],
    *,
    start: dict | None = None,
    epochs: int | None = 1,
    prefetch: int = tf.data.AUTOTUNE,
    group_bytes: int = 32 << 20,
) -> tf.data.Dataset:
    """A dataset of batches (dicts of tensors, :func:`output_signature`, values as
    :meth:`LaneStreamer.batches`) from position ``start``, prefetched.

    With several streamers (the shards of one input pipeline's replicas), each step yields one
    batch per streamer, in order: that is how ``tf.distribute`` dequeues a worker's dataset,
    one element per local replica per step.

    The Python generator hands over groups of consecutive steps of about ``group_bytes`` of
    signal (:meth:`LaneStreamer.batch_groups`; at least one step), which TensorFlow adopts
    without a copy (64-byte aligned) and splits into steps in C++, as views of the group: the
    fewer Python calls per step, the less the producer competes with the training loop for the
    GIL, and no step's signal is copied between the producer and the model. A worker thread
    produces the groups ahead of the consumer (:func:`produced_ahead`): checkpoint the position
    from the ``epoch``/``step`` of the last *consumed* batch, ``streamer.position(epoch, step + 1)``.
    """
    streamers = [streamers] if isinstance(streamers, LaneStreamer) else list(streamers)
    specs = output_signature(streamers[0])
    steps_per_group = max(1, group_bytes // (specs["signal"].shape.num_elements() * 4))

    def groups():
        per_shard = (s.batch_groups(start=start, epochs=epochs, steps_per_group=steps_per_group) for s in streamers)
        for per_streamer in zip(*per_shard):
            # arrays (k, streamers, ...) flattened to (k * streamers, ...): step by step, each step's
            # streamers in order
            signal = (
                per_streamer[0]["signal"][:, None]
                if len(per_streamer) == 1  # a view: adopted, not copied
                else np.stack([g["signal"] for g in per_streamer], axis=1)
            )
            packed = np.stack(
                [np.stack([g[key].astype(np.int64) for key in _PACKED], axis=-1) for g in per_streamer], 1
            )
            recording_id = np.stack([g["recording_id"] for g in per_streamer], axis=1)
            epoch_step = np.stack([np.stack([g["epoch"], g["step"]], axis=-1) for g in per_streamer], axis=1)
            yield tuple(a.reshape((-1, *a.shape[2:])) for a in (signal, packed, recording_id, epoch_step))

    def split(*group):
        # Indexing the first axis of an aligned tensor makes a view (``unbatch`` would copy every step).
        steps = tf.data.Dataset.range(tf.shape(group[0], out_type=tf.int64)[0])
        return steps.map(lambda i: unpack(*(component[i] for component in group)))

    def unpack(signal, packed, recording_id, epoch_step):
        batch = {"signal": signal, "recording_id": recording_id, "epoch": epoch_step[0], "step": epoch_step[1]}
        batch.update({key: tf.cast(packed[:, i], _DTYPES[key]) for i, key in enumerate(_PACKED)})
        return batch

    b = len(streamers[0].lanes)
    signature = (
        tf.TensorSpec((None, *specs["signal"].shape), tf.float32),
        tf.TensorSpec((None, b, len(_PACKED)), tf.int64),
        tf.TensorSpec((None, b), tf.string),
        tf.TensorSpec((None, 2), tf.int64),
    )
    dataset = tf.data.Dataset.from_generator(lambda: produced_ahead(groups(), GROUPS_AHEAD), output_signature=signature)
    # one function per step (under op determinism, tf.data runs it inside the step's wait)
    return dataset.flat_map(split).prefetch(prefetch)


def produced_ahead(iterator: Generator, depth: int) -> Iterator:
    """The items of ``iterator``, produced by a worker thread up to ``depth`` items ahead of the consumer.

    ``tf.data``'s own prefetching does not run a Python generator ahead under op determinism
    (``train.deterministic``): the generator then ran inside each step's wait for its batch. The
    stream's content depends only on its position, so producing it ahead keeps runs identical.
    Errors reach the consumer in order; closing this generator stops the worker and closes
    ``iterator`` (its open files).
    """
    end = object()
    pool = ThreadPoolExecutor(1, thread_name_prefix="eegseq-stream")
    try:
        pending = deque(pool.submit(next, iterator, end) for _ in range(depth))
        while (item := pending.popleft().result()) is not end:
            pending.append(pool.submit(next, iterator, end))
            yield item
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        iterator.close()


def replica_shards(input_context: tf.distribute.InputContext | None) -> tuple[list[int], int]:
    """The global replica indices an input pipeline feeds, and the number of replicas.

    Lanes are sharded per replica: replica ``r`` of ``R`` owns the ``r``-th contiguous
    ``lanes / R`` lanes; input pipeline ``p`` of ``P`` feeds replicas ``[p R/P, (p+1) R/P)``.
    """
    if input_context is None:
        return [0], 1
    replicas = input_context.num_replicas_in_sync
    fed = equal_share(
        replicas, input_context.input_pipeline_id, input_context.num_input_pipelines, "replicas", "input pipelines"
    )
    return list(fed), replicas


def dataset_fn(
    stores: Sequence[str | os.PathLike],
    config: StreamConfig,
    stats: ChannelStats | None = None,
    *,
    start: dict | None = None,
    epochs: int | None = 1,
) -> Callable[[tf.distribute.InputContext | None], tf.data.Dataset]:
    """A function for ``strategy.distribute_datasets_from_function``: each input pipeline streams
    the lanes of the replicas it feeds (whole recordings, never split across replicas);
    ``config.lanes`` is the global number of lanes and must be divisible by the replicas."""

    def build(input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        replicas, count = replica_shards(input_context)
        streamers = [LaneStreamer(stores, config, stats, shard_index=r, num_shards=count) for r in replicas]
        return make_dataset(streamers, start=start, epochs=epochs)

    return build
