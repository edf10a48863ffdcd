"""Run by test_keras_integration.py in a subprocess: devices must be configured before any TF op.

Trains a StreamRNN with explicit state passing for a few windows, once under MirroredStrategy on
two logical CPU devices (each replica owns two lanes) and once on one device with all four lanes,
and prints the largest weight difference as JSON.
"""

import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import tf_keras as keras  # noqa: E402

from eegseq.rnn import DropoutLSTMCell, DropoutSpec, StreamRNN  # noqa: E402

LANES, STEPS, WINDOWS, FEATURES, UNITS = 4, 8, 3, 3, 5
rng = np.random.default_rng(0)
X = rng.standard_normal((WINDOWS, LANES, STEPS, FEATURES)).astype(np.float32)
Y = rng.standard_normal((WINDOWS, LANES, STEPS, 1)).astype(np.float32)
KEYS = np.array([10, 11, 12, 13], np.int64)


def build():
    rnn = StreamRNN(
        DropoutLSTMCell(UNITS, DropoutSpec.create("gal", rate=0.3, input_rate=0.2)),
        return_sequences=True,
        return_state=True,
        seed=3,
    )
    head = keras.layers.Dense(1)
    rnn.build((None, STEPS, FEATURES))
    head.build((None, STEPS, UNITS))
    init = np.random.default_rng(1)
    for variable in rnn.trainable_weights + head.trainable_weights:
        variable.assign(init.normal(0, 0.3, variable.shape).astype(np.float32))
    return rnn, head, keras.optimizers.SGD(0.1)


def train(strategy):
    with strategy.scope():
        rnn, head, optimizer = build()
    initial = [v.numpy() for v in rnn.trainable_weights + head.trainable_weights]
    per_replica = LANES // strategy.num_replicas_in_sync

    def replica_step(x, y, keys, states):
        with tf.GradientTape() as tape:
            out = rnn(x, lane_keys=keys, initial_state=states, training=True)
            loss = tf.reduce_sum(tf.square(head(out[0]) - y)) / (LANES * STEPS)  # global-batch mean
        variables = rnn.trainable_weights + head.trainable_weights
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return out[1:]

    @tf.function
    def step(x, y, keys, states):
        return strategy.run(replica_step, args=(x, y, keys, states))

    def lanes_of(array):
        return strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(
                array[ctx.replica_id_in_sync_group * per_replica : (ctx.replica_id_in_sync_group + 1) * per_replica]
            )
        )

    states = strategy.experimental_distribute_values_from_function(lambda ctx: rnn.get_initial_state(per_replica))
    for w in range(WINDOWS):
        states = step(lanes_of(X[w]), lanes_of(Y[w]), lanes_of(KEYS), states)
    final = [v.numpy() for v in rnn.trainable_weights + head.trainable_weights]
    return final, max(float(np.abs(a - b).max()) for a, b in zip(final, initial))


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
mirrored, change = train(strategy)
single, _ = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
json.dump(
    {
        "replicas": strategy.num_replicas_in_sync,
        "change": change,
        "max_diff": max(float(np.abs(a - b).max()) for a, b in zip(mirrored, single)),
    },
    sys.stdout,
)
