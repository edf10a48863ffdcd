"""Distribution glue: the ``tf.distribute`` strategy, this worker's place in it, and the lanes'
states as per-replica values.

Lanes are the unit of parallelism: replica ``r`` plays the lanes :meth:`RunPlan.replica_lanes`
gives it and carries their states; a worker checkpoints the lanes of its local replicas,
concatenated in replica order.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from eegseq.models import StreamModel
from eegseq.pipelines.config import JobConfig
from eegseq.pipelines.plan import RunPlan


def make_strategy(config: JobConfig) -> tf.distribute.Strategy:
    choice = config.distribute.strategy
    if choice == "mirrored":
        return tf.distribute.MirroredStrategy(config.distribute.devices)
    if choice == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()  # cluster from TF_CONFIG
    return tf.distribute.get_strategy()


def worker_index(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(this worker's index, number of workers): (0, 1) outside a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return 0, 1
    return int(resolver.task_id or 0), len(resolver.cluster_spec().as_dict().get("worker", [])) or 1


class ReplicaLanes:
    """This worker's lane states <-> per-replica values of ``strategy``.

    Args:
        plan: the run plan (lanes of each replica).
        model: the stream model (state names, fresh states).
        strategy: the distribution strategy.
    """

    def __init__(self, plan: RunPlan, model: StreamModel, strategy: tf.distribute.Strategy) -> None:
        self.plan, self.model, self.strategy = plan, model, strategy
        self.worker, workers = worker_index(strategy)
        # this worker's lanes (a checkpoint's) start at the lanes of its first replica
        self.first_local_lane = plan.replica_lanes(self.worker * (plan.replicas // workers)).start

    def distribute(self, lanes: dict[str, np.ndarray] | None):
        """Per-replica lane states: fresh lanes, or this worker's ``lanes`` (a checkpoint) split over its replicas."""

        def for_replica(context):
            if lanes is None:
                return self.model.initial_state(self.plan.lanes_per_replica)
            mine = self.plan.replica_lanes(context.replica_id_in_sync_group)
            first = mine.start - self.first_local_lane
            return {name: tf.constant(array[first : first + len(mine)]) for name, array in lanes.items()}

        return self.strategy.experimental_distribute_values_from_function(for_replica)

    def gather(self, state) -> dict[str, np.ndarray]:
        """This worker's lanes, concatenated over its local replicas."""
        return {
            name: np.concatenate([t.numpy() for t in self.strategy.experimental_local_results(state[name])])
            for name in self.model.state_names
        }
