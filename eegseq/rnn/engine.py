"""Which engine runs an LSTM window with no mask inside its recurrence: the fused kernel or the XLA loop.

Both compute the same window (``none``, ``weight_drop``, input-only dropout, and inference under
``inverted`` or ``none`` scaling leave the recurrence unmasked). Which is faster depends on the
machine, the batch, the layer's size, the window's length and whether a gradient is taken (the
measurements are in ``docs/recurrent-dropout.md``), so the first window of each setting times
both engines on the machine at hand, side by side, and the answer is kept for the process.

Under TensorFlow's op determinism the choice must not depend on a clock (a resumed run has to
compute exactly what the uninterrupted run computed), so there a fixed rule applies: the fused
kernel where a GPU is visible, the XLA loop otherwise.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.config import is_op_determinism_enabled  # no public query in TF 2.21

from eegseq.rnn import fused
from eegseq.rnn.lstm import DropoutLSTMCell
from eegseq.rnn.recurrence import WindowRecurrence

CALIBRATION_STEPS = 512  # longest window timed: enough to weigh the per-step cost against the per-call cost
CALIBRATION_ROUNDS = 5


def fixed_rule() -> bool:
    """The choice when timing is not allowed: fused where a GPU is visible."""
    return bool(tf.config.list_logical_devices("GPU"))


def use_fused(cell, batch: int | None, steps: int | None, training: bool) -> bool:
    """Whether the fused kernel is the faster engine for a window of ``batch`` lanes and ``steps`` steps.

    Shapes unknown at tracing time, and op determinism, get :func:`fixed_rule`.
    """
    if batch is None or steps is None or is_op_determinism_enabled():
        return fixed_rule()
    device = "GPU" if fixed_rule() else "CPU"
    return _fused_is_faster(
        cell.input_dim, cell.units, int(batch), min(int(steps), CALIBRATION_STEPS), training, device
    )


@functools.cache
def _fused_is_faster(input_dim: int, units: int, batch: int, steps: int, training: bool, device: str) -> bool:
    """Time both engines on random data of this shape (median of interleaved rounds after a warm-up)."""
    with tf.init_scope():  # run eagerly, also when called while a model is being traced
        rng = np.random.default_rng(0)
        cell = DropoutLSTMCell(units)
        cell.build((None, input_dim))
        x = tf.constant(rng.standard_normal((steps, batch, input_dim)), tf.float32)
        zeros = tf.zeros((batch, units))
        loop = WindowRecurrence(cell, return_sequences=True, jit_compile=True)

        def run_loop():
            projected = cell.project_inputs(x)
            return loop(projected, (zeros, zeros), {}, {}, (tf.convert_to_tensor(cell.recurrent_kernel),))[0]

        def run_fused():
            return fused.block_lstm(x, zeros, zeros, cell.kernel, cell.recurrent_kernel, cell.bias)[0]

        def timed(run):
            @tf.function
            def step():
                loss = tf.reduce_sum(run())
                # tf.gradients, not a tape: init_scope pauses tapes
                return tf.gradients(loss, cell.trainable_variables) if training else loss

            return lambda: tf.nest.map_structure(lambda t: t.numpy(), step())

        medians = median_seconds({"fused": timed(run_fused), "loop": timed(run_loop)}, CALIBRATION_ROUNDS)
    return medians["fused"] <= medians["loop"]


def median_seconds(runs: dict[str, Callable[[], object]], rounds: int, warmups: int = 1) -> dict[str, float]:
    """Median wall-clock seconds of each callable over ``rounds`` rounds that call them in turn (so a
    change of load on a shared machine hits all alike), after ``warmups`` untimed calls of each (the
    first traces and compiles)."""
    for run in runs.values():
        for _ in range(warmups):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
