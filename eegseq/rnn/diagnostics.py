"""What a recurrent layer does to its states and gradients, measured rather than assumed.

* :func:`unroll`: run a per-step function over a window with a zero "nudge" added to every new
  state; the gradient of any loss with respect to the nudges is ``∂L/∂state_t`` at every step
  (the total derivative through all later steps), which a compiled loop never exposes.
* :func:`stream_rnn_step`, :func:`stock_rnn_step`: one window of a :class:`~eegseq.rnn.StreamRNN`
  (with the masks the layer itself draws) or of a stock ``tf_keras`` LSTM/GRU, as such a function.
* :func:`stock_mask_changes`: how often the stock layer's recurrent dropout mask really changes
  (every timestep, once per call, never), read off a probe copy of the layer.

Nothing here knows what the sequences are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tf_keras as keras

from eegseq.rnn.masks import inference_masks, sample_masks

StepFunction = Callable[[tf.Tensor, tf.Tensor, tuple], tuple]


def unroll(step: StepFunction, inputs_tm: tf.Tensor, states, nudges) -> tuple[tf.Tensor, ...]:
    """Run ``step(t, x_t, states) -> new_states`` over ``inputs_tm`` ``(steps, batch, ...)``.

    Args:
        states: the initial states, each ``(batch, units)``.
        nudges: one ``(steps, batch, units)`` tensor per state, added to the state after each step.
            Pass zeros and differentiate a loss with respect to them to get ``∂L/∂state_t``.

    Returns:
        every step's states: one ``(steps, batch, units)`` tensor per state.
    """
    steps = tf.shape(inputs_tm)[0]
    inputs = tf.TensorArray(inputs_tm.dtype, size=steps).unstack(inputs_tm)
    nudge_arrays = [tf.TensorArray(n.dtype, size=steps).unstack(n) for n in nudges]

    def body(t, states, sequences):
        new_states = tuple(s + n.read(t) for s, n in zip(step(t, inputs.read(t), states), nudge_arrays, strict=True))
        return t + 1, new_states, tuple(seq.write(t, s) for seq, s in zip(sequences, new_states, strict=True))

    sequences = tuple(tf.TensorArray(inputs_tm.dtype, size=steps) for _ in states)
    _, _, sequences = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), tuple(states), sequences), maximum_iterations=steps
    )
    return tuple(seq.stack() for seq in sequences)


def stream_rnn_step(layer, inputs, reset, lane_keys, state, training: bool):
    """One window of a :class:`~eegseq.rnn.StreamRNN` as ``(step, initial cell states)`` for :func:`unroll`.

    The step applies the cell's own equations with the masks the layer draws for this window in
    training (:func:`~eegseq.rnn.sample_masks` keyed like the layer: its seed, the lanes' keys and
    step counters; a ``recording`` mask is drawn once per recording, so it equals the carried one),
    or the inference constants.

    Args:
        inputs: ``(batch, steps, features)`` the layer's input.
        reset: ``(batch,)`` 1 where a lane starts a recording.
        lane_keys: ``(batch,)`` int64.
        state: the layer's full carried state list (:attr:`~eegseq.rnn.StreamRNN.state_names`).
    """
    cell = layer.cell
    n_cell = len(cell.state_size)
    inputs = tf.convert_to_tensor(inputs)
    restart = tf.cast(tf.reshape(reset, (-1,)), tf.bool)
    cell_states = tuple(s * tf.cast(~restart, s.dtype)[:, None] for s in state[:n_cell])
    if training:
        steps_seen = tf.where(restart, tf.zeros_like(state[n_cell][:, 1]), state[n_cell][:, 1])
        masks = sample_masks(
            cell,
            tf.shape(inputs)[0],
            tf.shape(inputs)[1],
            seed=layer.seed,
            lane_keys=tf.cast(lane_keys, tf.int64),
            steps_seen=steps_seen,
        )
    else:
        masks = {name: value for name, value in inference_masks(cell).items() if value != 1.0}
    per_step = {s.name for s in cell.mask_slots if s.lifetime(cell.spec) == "step"}

    def step(t, x_t, states):
        masks_t = {n: m[:, t] if n in per_step and not isinstance(m, float) else m for n, m in masks.items()}
        loop_masks, weights = cell.prepare_loop(masks_t)
        return tuple(cell.step(cell.project_inputs(x_t, masks_t.get("input")), tuple(states), loop_masks, weights))

    return step, cell_states


def stock_rnn_step(layer, reset, state, training: bool):
    """One window of a stock ``tf_keras.layers.LSTM``/``GRU`` as ``(step, initial states)`` for :func:`unroll`.

    The step calls the stock cell, which draws its dropout masks itself exactly as it does inside
    the stock layer's own loop (inside a compiled function: at every step; see :func:`stock_mask_changes`).
    """
    cell = layer.cell
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    keep = 1.0 - tf.cast(tf.reshape(reset, (-1, 1)), tf.float32)
    initial = tuple(s * keep for s in state)

    def step(t, x_t, states):
        return tuple(cell(x_t, list(states), training=training)[1])

    return step, initial


# ---- the stock layer's masks --------------------------------------------------------------------
_SATURATE = 30.0  # a gate bias that makes sigmoid exactly 0 or 1 in float32


def _probe_weights(layer, pairs: int) -> list[np.ndarray]:
    """Weights under which unit ``pairs + j`` ("reader") outputs 0 exactly when the candidate gate's
    recurrent mask drops unit ``j`` ("carrier", whose state is a fixed non-zero value at every step).

    LSTM (gates i, f, g, o): i = o = 1, f = 0, so ``c_t = g_t``; carriers ``g = tanh(x)``, readers
    ``g = tanh((h_{t-1} ⊙ m_g)_j)``. GRU (gates z, r, h, reset_after): z = 0, r = 1, so ``h_t = ĥ_t``
    with the same roles in the candidate ``ĥ``.
    """
    n = 2 * pairs
    is_lstm = isinstance(layer, keras.layers.LSTM)
    gates = 4 if is_lstm else 3
    candidate = 2  # g (LSTM) and h (GRU) are the third gate block
    kernel = np.zeros((1, gates * n), np.float32)
    kernel[0, candidate * n : candidate * n + pairs] = 1.0
    recurrent = np.zeros((n, gates * n), np.float32)
    recurrent[np.arange(pairs), candidate * n + pairs + np.arange(pairs)] = 1.0
    if is_lstm:
        bias = np.zeros(4 * n, np.float32)
        bias[:n], bias[n : 2 * n], bias[3 * n :] = _SATURATE, -_SATURATE, _SATURATE
    else:
        bias = np.zeros((2, 3 * n), np.float32)
        bias[0, :n], bias[0, n : 2 * n] = -_SATURATE, _SATURATE
    return [kernel, recurrent, bias]


def _classify(kept: np.ndarray) -> dict:
    """``kept`` ``(calls, batch, steps, pairs)`` bool: how often the mask changes."""
    step_change = float(np.any(kept[:, :, 1:] != kept[:, :, :-1], axis=-1).mean()) if kept.shape[2] > 1 else 0.0
    call_change = float(np.any(kept[1:] != kept[:-1], axis=-1).mean()) if kept.shape[0] > 1 else 0.0
    changes = "timestep" if step_change > 0 else "window" if call_change > 0 else "never"
    return {
        "changes": changes,
        "step_change_fraction": step_change,
        "call_change_fraction": call_change,
        "drop_fraction": float(1.0 - kept.mean()),
    }


def stock_mask_changes(layer, steps: int = 32, batch: int = 8, calls: int = 2) -> dict:
    """How often a stock ``tf_keras`` LSTM/GRU's recurrent dropout mask changes, measured.

    ``layer`` is a fresh probe: a stock LSTM/GRU with the settings under test, an even number of
    units (``2 * pairs``), no input dropout and ``return_sequences=True`` (e.g.
    :meth:`eegseq.models.StockStreamRNN.mask_probe`). It gets weights that make its candidate gate's
    recurrent mask visible in its output (:func:`_probe_weights`) and is run ``calls`` times on the
    same input in training mode, once compiled (``tf.function``, how ``model.fit`` and training
    loops run it) and once eagerly. A stock layer without a seed draws from TensorFlow's global
    generator: under op determinism, set a global seed first (``tf_keras.utils.set_random_seed``).

    Returns:
        ``{"compiled": {...}, "eager": {...}}``, each with ``changes`` (``"timestep"``,
        ``"window"`` or ``"never"``), ``step_change_fraction`` (consecutive step pairs inside a call
        whose mask differs), ``call_change_fraction`` (steps whose mask differs between calls) and
        ``drop_fraction`` (share of dropped units).
    """
    pairs = layer.units // 2
    if layer.units % 2 or layer.dropout or not layer.return_sequences:
        raise ValueError(
            f"stock_mask_changes needs a probe layer with an even number of units, dropout=0 and "
            f"return_sequences=True; got units={layer.units}, dropout={layer.dropout}, "
            f"return_sequences={layer.return_sequences}"
        )
    layer.build((None, None, 1))
    layer.set_weights(_probe_weights(layer, pairs))
    x = tf.ones((batch, steps, 1))
    h0 = tf.concat([tf.ones((batch, pairs)), tf.zeros((batch, pairs))], 1)  # carriers start non-zero
    initial = [h0, tf.zeros_like(h0)] if isinstance(layer, keras.layers.LSTM) else [h0]

    def run():
        outputs = layer(x, initial_state=initial, training=True)
        return outputs[0] if isinstance(outputs, (list, tuple)) else outputs

    result = {}
    for way, call in (("compiled", tf.function(run)), ("eager", run)):
        outputs = np.stack([call().numpy() for _ in range(calls)])  # (calls, batch, steps, units)
        # A dropped reader keeps only f * c_{t-1} (f = sigmoid(-30) ~ 1e-13); a kept one is ~0.6.
        result[way] = _classify(np.abs(outputs[..., pairs:]) > 1e-3)
    return result
