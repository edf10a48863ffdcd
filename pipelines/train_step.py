"""One training step on every replica.

The loss of a step is the weighted cross-entropy summed over all lanes of the global batch and
divided by their number (invalid and unlabelled windows weigh 0); gradients are summed over
replicas, then clipped by their global norm, so a run on R replicas equals a run on one device
with the same global lanes.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from eegseq.models import StreamModel
from eegseq.pipelines.config import TrainConfig
from eegseq.pipelines.plan import RunPlan


def make_optimizer(train: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    rate = train.learning_rate
    if train.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(train.learning_rate, max(1, train.epochs * steps_per_epoch))
    if train.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9)
    if train.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=train.weight_decay)
    return keras.optimizers.Adam(rate)


def class_weights(train: TrainConfig, counts: tuple[int, int]) -> tuple[float, float]:
    """(w0, w1): ``balanced`` gives each class half of the total weight over the training windows.

    Args:
        counts: training windows labelled 0 and 1 (both non-zero: :meth:`RunPlan.validate` checks it).
    """
    if isinstance(train.class_weight, dict):
        return float(train.class_weight.get(0, 1.0)), float(train.class_weight.get(1, 1.0))
    if train.class_weight == "none":
        return 1.0, 1.0
    weights = sum(counts) / (2 * np.array(counts, np.float64))
    return float(weights[0]), float(weights[1])


def loss_weights(label: tf.Tensor, valid: tf.Tensor, weights: tuple[float, float]) -> tf.Tensor:
    """Per-window loss weight, shape ``(lanes,)``: ``weights[1]`` on seizure windows, ``weights[0]`` on
    background, 0 on invalid windows and unlabelled ones (label -1: padding, a seizure's unclear margin)."""
    w0, w1 = weights
    return valid * tf.cast(label >= 0, tf.float32) * tf.where(label > 0, w1, w0)


class TrainStep:
    """The compiled training step of ``model`` on the plan's lanes (see the module docstring).

    Args:
        plan: the run plan (lanes, window seconds, mask keys).
        model: the stream model, built under ``strategy``'s scope.
        optimizer: built for the model's trainable variables.
        strategy: the distribution strategy.
        weights: (w0, w1) class weights.
    """

    def __init__(
        self,
        plan: RunPlan,
        model: StreamModel,
        optimizer: keras.optimizers.Optimizer,
        strategy: tf.distribute.Strategy,
        weights: tuple[float, float],
    ) -> None:
        self.plan, self.model, self.optimizer, self.strategy, self.weights = plan, model, optimizer, strategy, weights

    def _replica_step(self, batch, state):
        train = self.plan.config.train
        keys = self.plan.mask_keys(batch["recording_id"], batch["epoch"])
        labels = tf.cast(tf.maximum(batch["label"], 0), tf.float32)
        weight = loss_weights(batch["label"], batch["valid"], self.weights)
        variables = self.model.model.trainable_variables
        with tf.GradientTape() as tape:
            logits, step_logits, new_state = self.model(batch["signal"], batch["reset"], keys, state, training=True)
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits[:, 0])
            if step_logits is not None and train.step_loss_weight:
                per_step = tf.nn.sigmoid_cross_entropy_with_logits(
                    labels=tf.broadcast_to(labels[:, None], tf.shape(step_logits[..., 0])), logits=step_logits[..., 0]
                )
                losses += train.step_loss_weight * tf.reduce_mean(per_step, axis=1)
            loss = tf.reduce_sum(weight * losses) / self.plan.stream.lanes
        grads = tape.gradient(loss, variables)
        context = tf.distribute.get_replica_context()
        grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        if train.clip_norm:
            grads, _ = tf.clip_by_global_norm(grads, train.clip_norm)
        self.optimizer.apply_gradients(zip(grads, variables), skip_gradients_aggregation=True)
        recording_seconds = tf.reduce_sum(batch["valid"]) * self.plan.window_seconds
        return loss, recording_seconds, new_state

    @tf.function
    def __call__(self, iterator, state):
        """One training step on every replica with the next batch of the distributed ``iterator``.

        The batch is taken inside the compiled function: a Python ``next()`` on a tf.data
        iterator costs about 0.45 ms per step of eager overhead (measured on the default job).

        Returns:
            ``(global loss, recording-seconds played, new per-replica state, epoch, step, waited)``:
            ``epoch`` and ``step`` are the batch's (the stream position after it is
            ``position(epoch, step + 1)``); ``waited`` the seconds spent waiting for the batch, or
            None under ``train.deterministic`` (TensorFlow's op determinism refuses to read the clock).
        """
        if self.plan.config.train.deterministic:
            batch, waited = next(iterator), None
        else:
            # Stateful ops (the clock, the iterator) run in program order inside a tf.function.
            asked = tf.timestamp()
            batch = next(iterator)
            with tf.control_dependencies(tf.nest.flatten(self.strategy.experimental_local_results(batch))):
                waited = tf.timestamp() - asked
        loss, seconds, state = self.strategy.run(self._replica_step, args=(batch, state))
        total = self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
        epoch, step = (self.strategy.experimental_local_results(batch[key])[0] for key in ("epoch", "step"))
        seconds = self.strategy.reduce(tf.distribute.ReduceOp.SUM, seconds, axis=None)
        return total, seconds, state, epoch, step, waited
