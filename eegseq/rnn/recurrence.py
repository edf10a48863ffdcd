"""The loop over a window's timesteps, compiled with XLA, with a hand-ordered backward pass.

TensorFlow's graph executor pays tens of microseconds per op per timestep, which dominates a
small recurrent cell over thousands of steps. XLA compiles the whole loop into one kernel, but a
``jit_compile`` function's gradient cannot hand its per-step accumulators back to TensorFlow.
So the forward loop and the backward pass are two compiled functions joined by
``tf.custom_gradient``. The backward walks the window in reverse: at each step it differentiates
the cell's own ``advance`` and recurrent term (automatic differentiation of the equations in
``lstm.py`` / ``gru.py``, so no equation is written twice) with respect to that step's inputs and
states only, and leaves the recurrent weights' gradient to one matrix product over many steps
(:meth:`~eegseq.rnn.cell_base.DropoutCellBase.recurrent_weight_gradients`) instead of a small
outer product per step.

What the forward keeps for the backward (``memory``):

* ``"save"``: every step's states (the size of the output sequence per state), from which the
  reverse loop reads each step's previous states in place; of the gradients it keeps that of the
  projected inputs, ``(steps, batch, G*u)``, and a second such array for the recurrent terms only
  where the two differ (GRU; in the LSTM they are one, see ``term_gradient_is_input_gradient``);
* ``"recompute"``: the states at the start of every segment of ``k = ⌈√T⌉`` steps; the backward
  reruns each segment's forward from its first state (one extra forward pass in all), keeps that
  segment's states only, and takes the segment's weight gradient before moving to the previous one.
"""

from __future__ import annotations

import tensorflow as tf

MEMORY_MODES = ("save", "recompute")


def _frozen(structure):
    """``tf.stop_gradient`` on every tensor of a nested structure (Python floats pass through)."""
    return tf.nest.map_structure(lambda v: v if isinstance(v, float) else tf.stop_gradient(v), structure)


def _zeros_for_none(values, like):
    return [tf.zeros_like(ref) if value is None else value for value, ref in zip(values, like)]


def segment_length(steps: tf.Tensor) -> tf.Tensor:
    """``⌈√steps⌉``: the recompute segment that balances kept first states against one segment's states."""
    return tf.maximum(tf.cast(tf.math.ceil(tf.sqrt(tf.cast(steps, tf.float32))), tf.int32), 1)


class WindowRecurrence:
    """Runs ``cell.step`` over every timestep of a window.

    Args:
        cell: a dropout cell (its ``step`` holds the equations).
        return_sequences: also return every step's output.
        jit_compile: compile with XLA (with the backward pass above); False runs a plain
            ``tf.while_loop`` differentiated by TensorFlow.
        memory: ``"save"`` or ``"recompute"`` (see the module docstring; XLA engine only).

    Call args (all time-major; masks and weights prepared by the cell's ``prepare_loop``):
        projected: ``(steps, batch, G*u)`` projected inputs.
        states: tuple of ``(batch, units)`` initial cell states.
        constant_masks: ``{name: mask}`` masks constant over the window (tensors or Python floats).
        step_masks: ``{name: (steps, ...)}`` masks drawn per step.
        weights: tuple of loop weights.

    Returns:
        ``(outputs, final_states)``: outputs ``(steps, batch, units)`` or None.
    """

    def __init__(self, cell, return_sequences: bool, jit_compile: bool, memory: str = "save"):
        if memory not in MEMORY_MODES:
            raise ValueError(f"memory={memory!r} is not valid; expected one of {', '.join(map(repr, MEMORY_MODES))}")
        if memory == "recompute" and not jit_compile:
            raise ValueError("memory='recompute' needs jit_compile=True (the plain loop keeps TensorFlow's gradient)")
        self.cell = cell
        self.return_sequences = return_sequences
        self.jit_compile = jit_compile
        self.memory = memory
        if jit_compile:
            forward, backward = {
                "save": (self._forward_save, self._backward_save),
                "recompute": (self._forward_recompute, self._backward_recompute),
            }[memory]
            self._forward = tf.function(forward, jit_compile=True, autograph=False)
            self._backward = tf.function(backward, jit_compile=True, autograph=False)

    # ---- loops over a range of steps -----------------------------------------------------------
    @staticmethod
    def _step_masks(constant_masks, per_step, t):
        masks = dict(constant_masks)
        masks.update({name: ta.read(t) for name, ta in per_step.items()})
        return masks

    def _run(self, inputs, per_step, constant_masks, weights, states, start, stop, sequences, offset):
        """Steps ``[start, stop)`` from ``states``; ``sequences[j]`` gets state ``j`` after step ``t`` at
        ``t - offset``. Returns ``(final_states, sequences)``."""

        def body(t, states, sequences):
            new_states = tuple(
                self.cell.step(inputs.read(t), states, self._step_masks(constant_masks, per_step, t), weights)
            )
            return t + 1, new_states, tuple(seq.write(t - offset, s) for seq, s in zip(sequences, new_states))

        _, final, sequences = tf.while_loop(
            lambda t, *_: t < stop,
            body,
            (start, tuple(states), tuple(sequences)),
            maximum_iterations=stop - start,
            parallel_iterations=32,
        )
        return final, sequences

    def _reverse(self, inputs, per_step, constant_masks, weights, saved, start, stop, d_states, d_outputs, d_arrays):
        """Backward over steps ``stop - 1`` down to ``start``.

        Args:
            saved: ``(firsts, sequences)``: each state before step ``start``, and each state after step
                ``t`` at row ``t - start`` of a ``(rows, batch, units)`` tensor.
            d_states: gradients with respect to the states after step ``stop - 1``.
            d_outputs: TensorArray of the outputs' gradients by step, or None.
            d_arrays: ``(d_projected, d_terms)`` TensorArrays receiving the gradients of the projected
                inputs at ``t`` and of the recurrent terms at ``t - start``, or ``(d_projected,)`` alone
                where the cell's term gradient is its projected inputs' (``term_gradient_is_input_gradient``).

        Returns:
            ``(d_states before step start, d_arrays)``.
        """
        cell = self.cell
        firsts, sequences = saved

        def body(t, d_states, d_arrays):
            t = t - 1
            masks = self._step_masks(constant_masks, per_step, t)
            row = tf.maximum(t - start - 1, 0)
            step_input = inputs.read(t)
            step_states = [tf.where(t > start, sequence[row], first) for first, sequence in zip(firsts, sequences)]
            if d_outputs is not None:
                d_states = (d_states[0] + d_outputs.read(t), *d_states[1:])
            with tf.GradientTape() as tape:
                tape.watch([step_input, *step_states])
                term = cell.recurrent_term(step_states[0], masks.get("recurrent"), weights)
                new_states = cell.advance(step_input, term, tuple(step_states), masks)
            # Not the weights: their gradient is one product over many steps after the loop.
            grads = tape.gradient(
                list(new_states),
                [step_input, term, *step_states],
                output_gradients=list(d_states),
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            d_projected, *d_terms = d_arrays
            written = (d_projected.write(t, grads[0]), *(ta.write(t - start, grads[1]) for ta in d_terms))
            return t, tuple(grads[2:]), written

        _, d_states, d_arrays = tf.while_loop(
            lambda t, *_: t > start, body, (stop, tuple(d_states), d_arrays), maximum_iterations=stop - start
        )
        return d_states, d_arrays

    def _inputs(self, projected, step_masks, upstream=None):
        """TensorArrays read by step: projected inputs, per-step masks, and the outputs' gradients."""
        inputs = tf.TensorArray(projected.dtype, size=tf.shape(projected)[0]).unstack(projected)
        per_step = {name: tf.TensorArray(m.dtype, size=tf.shape(m)[0]).unstack(m) for name, m in step_masks.items()}
        if upstream is None or not self.return_sequences:
            return inputs, per_step, None
        return inputs, per_step, tf.TensorArray(projected.dtype, size=tf.shape(projected)[0]).unstack(upstream[0])

    @staticmethod
    def _arrays(dtype, size, count):
        return tuple(tf.TensorArray(dtype, size=size) for _ in range(count))

    @staticmethod
    def _previous_outputs(first, sequence):
        """``h_{t-1}`` of every step, ``(rows, batch, units)``: the first, then the sequence without its last row."""
        return tf.concat([first[None], sequence[:-1]], 0)

    # ---- memory="save" -------------------------------------------------------------------------
    def _forward_save(self, projected, states, constant_masks, step_masks, weights):
        """Returns ``(outputs or (), state sequences, final states)``."""
        inputs, per_step, _ = self._inputs(projected, step_masks)
        steps = tf.shape(projected)[0]
        sequences = self._arrays(projected.dtype, steps, len(states))
        final, sequences = self._run(inputs, per_step, constant_masks, weights, states, 0, steps, sequences, 0)
        saved = tuple(seq.stack() for seq in sequences)
        return saved[:1] if self.return_sequences else (), saved, final

    def _backward_save(self, projected, states, saved, constant_masks, step_masks, weights, upstream):
        """Gradients with respect to ``(projected, *states, *weights)`` given the upstream gradients
        (of the outputs if ``return_sequences``, then of the final states)."""
        inputs, per_step, d_outputs = self._inputs(projected, step_masks, upstream)
        steps, n_states = tf.shape(projected)[0], len(states)
        shared = self.cell.term_gradient_is_input_gradient  # then keep one (steps, batch, G*u) array, not two
        d_initial, d_arrays = self._reverse(
            inputs,
            per_step,
            constant_masks,
            weights,
            (states, saved),
            0,
            steps,
            upstream[-n_states:],
            d_outputs,
            self._arrays(projected.dtype, steps, 1 if shared else 2),
        )
        d_projected = d_arrays[0].stack()
        recurrent_mask = step_masks.get("recurrent", constant_masks.get("recurrent"))
        d_weights = self.cell.recurrent_weight_gradients(
            self._previous_outputs(states[0], saved[0]),
            recurrent_mask,
            d_projected if shared else d_arrays[1].stack(),
            weights,
        )
        return [d_projected, *d_initial, *d_weights]

    # ---- memory="recompute" --------------------------------------------------------------------
    def _forward_recompute(self, projected, states, constant_masks, step_masks, weights):
        """Returns ``(outputs or (), the states before every segment (segments, batch, units), final)``."""
        inputs, per_step, _ = self._inputs(projected, step_masks)
        steps = tf.shape(projected)[0]
        length = segment_length(steps)
        segments = (steps + length - 1) // length
        outputs = self._arrays(projected.dtype, steps, int(self.return_sequences))

        def body(s, states, outputs, firsts):
            firsts = tuple(f.write(s, state) for f, state in zip(firsts, states))
            start = s * length
            stop = tf.minimum(start + length, steps)
            final, outputs = self._run(inputs, per_step, constant_masks, weights, states, start, stop, outputs, 0)
            return s + 1, final, outputs, firsts

        _, final, outputs, firsts = tf.while_loop(
            lambda s, *_: s < segments,
            body,
            (tf.constant(0), tuple(states), outputs, self._arrays(projected.dtype, segments, len(states))),
            maximum_iterations=segments,
        )
        return tuple(o.stack() for o in outputs), tuple(f.stack() for f in firsts), final

    def _backward_recompute(self, projected, states, saved, constant_masks, step_masks, weights, upstream):
        """As :meth:`_backward_save`, segment by segment from the last, each segment's states recomputed."""
        inputs, per_step, d_outputs = self._inputs(projected, step_masks, upstream)
        steps, n_states = tf.shape(projected)[0], len(states)
        length = segment_length(steps)
        segments = (steps + length - 1) // length
        step_mask = step_masks.get("recurrent")
        constant_mask = constant_masks.get("recurrent")
        d_projected = tf.TensorArray(projected.dtype, size=steps)

        def body(s, d_states, d_projected, d_weights):
            s = s - 1
            start = s * length
            stop = tf.minimum(start + length, steps)
            first = tuple(f[s] for f in saved)
            sequence = self._arrays(projected.dtype, length, n_states)
            _, sequence = self._run(inputs, per_step, constant_masks, weights, first, start, stop, sequence, start)
            sequence = [seq.stack() for seq in sequence]
            d_states, (d_projected, d_terms) = self._reverse(
                inputs,
                per_step,
                constant_masks,
                weights,
                (first, sequence),
                start,
                stop,
                d_states,
                d_outputs,
                (d_projected, tf.TensorArray(projected.dtype, size=length)),
            )
            mask = (
                constant_mask
                if step_mask is None
                else tf.gather(step_mask, tf.minimum(start + tf.range(length), steps - 1))
            )
            # The term gradient is zero in rows past the window's end (last segment): they add nothing.
            segment_grads = self.cell.recurrent_weight_gradients(
                self._previous_outputs(first[0], sequence[0]), mask, d_terms.stack(), weights
            )
            return s, d_states, d_projected, tuple(a + b for a, b in zip(d_weights, segment_grads))

        _, d_initial, d_projected, d_weights = tf.while_loop(
            lambda s, *_: s > 0,
            body,
            (segments, tuple(upstream[-n_states:]), d_projected, tuple(tf.zeros_like(w) for w in weights)),
            maximum_iterations=segments,
        )
        return [d_projected.stack(), *d_initial, *d_weights]

    # ---- the call ------------------------------------------------------------------------------
    def __call__(self, projected, states, constant_masks, step_masks, weights):
        states, weights = tuple(states), tuple(weights)
        if not self.jit_compile:
            inputs, per_step, _ = self._inputs(projected, step_masks)
            steps = tf.shape(projected)[0]
            outputs = self._arrays(projected.dtype, steps, int(self.return_sequences))
            final, outputs = self._run(inputs, per_step, constant_masks, weights, states, 0, steps, outputs, 0)
            return (outputs[0].stack() if self.return_sequences else None), final
        n_states = len(states)

        # The compiled functions are called on stop_gradient'ed inputs: a tape that saw them would
        # ask TensorFlow for their gradient, which XLA cannot give; ours is the custom one below.
        constant_masks, step_masks = _frozen(constant_masks), _frozen(step_masks)

        @tf.custom_gradient
        def run(projected, *flat_inputs):
            projected, flat_inputs = _frozen(projected), _frozen(list(flat_inputs))
            own_states, own_weights = tuple(flat_inputs[:n_states]), tuple(flat_inputs[n_states:])
            outputs, saved, final = self._forward(projected, own_states, constant_masks, step_masks, own_weights)
            flat = list(outputs) + list(final)

            def grad(*upstream):
                upstream = _frozen(_zeros_for_none(upstream, flat))
                return self._backward(projected, own_states, saved, constant_masks, step_masks, own_weights, upstream)

            return flat, grad

        flat = run(projected, *states, *weights)
        if self.return_sequences:
            return flat[0], tuple(flat[1:])
        return None, tuple(flat)
