"""The loop over a window's timesteps, compiled with XLA, with a hand-ordered backward pass.

TensorFlow's graph executor pays tens of microseconds per op per timestep, which dominates a
small recurrent cell over thousands of steps. XLA compiles the whole loop into one kernel, but a
``jit_compile`` function's gradient cannot hand its per-step accumulators back to TensorFlow.
So the forward loop and the backward pass are two compiled functions joined by
``tf.custom_gradient``. The forward keeps every step's states (the same size as the output
sequence). The backward walks the window in reverse: at each step it differentiates the cell's own
``advance`` and recurrent term (automatic differentiation of the equations in ``lstm.py`` /
``gru.py``, so no equation is written twice) with respect to that step's inputs and states only,
and leaves the recurrent weights' gradient to one matrix product over all steps after the loop
(:meth:`~eegseq.rnn.cell_base.DropoutCellBase.recurrent_weight_gradients`), instead of a small
outer product per step.
"""

from __future__ import annotations

import tensorflow as tf


def _frozen(structure):
    """``tf.stop_gradient`` on every tensor of a nested structure (Python floats pass through)."""
    return tf.nest.map_structure(lambda v: v if isinstance(v, float) else tf.stop_gradient(v), structure)


def _zeros_for_none(values, like):
    return [tf.zeros_like(ref) if value is None else value for value, ref in zip(values, like)]


class WindowRecurrence:
    """Runs ``cell.step`` over every timestep of a window.

    Args:
        cell: a dropout cell (its ``step`` holds the equations).
        return_sequences: also return every step's output.
        jit_compile: compile with XLA (with the backward pass above); False runs a plain
            ``tf.while_loop`` differentiated by TensorFlow.

    Call args (all time-major, prepared by the cell's ``prepare_loop``):
        projected: ``(steps, ...)`` projected inputs.
        states: tuple of ``(batch, units)`` initial cell states.
        constant_masks: ``{name: mask}`` masks constant over the window (tensors or Python floats).
        step_masks: ``{name: (steps, ...)}`` masks drawn per step.
        weights: tuple of loop weights.

    Returns:
        ``(outputs, final_states)``: outputs ``(steps, batch, units)`` or None.
    """

    def __init__(self, cell, return_sequences: bool, jit_compile: bool):
        self.cell = cell
        self.return_sequences = return_sequences
        self.jit_compile = jit_compile
        if jit_compile:
            self._forward = tf.function(self._loop, jit_compile=True, autograph=False)
            self._backward = tf.function(self._reverse_loop, jit_compile=True, autograph=False)

    @staticmethod
    def _step_masks(constant_masks, per_step, t):
        masks = dict(constant_masks)
        masks.update({name: ta.read(t) for name, ta in per_step.items()})
        return masks

    def _loop(self, projected, states, constant_masks, step_masks, weights, kept_states=None):
        """The forward loop. Returns ``(sequences, final_states)``: ``sequences`` stacks the first
        ``kept_states`` states of every step (default: the output ``h`` if ``return_sequences``)."""
        if kept_states is None:
            kept_states = int(self.return_sequences)
        steps = tf.shape(projected)[0]
        inputs = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
        per_step = {name: tf.TensorArray(tf.float32, size=steps).unstack(m) for name, m in step_masks.items()}

        def body(t, states, sequences):
            new_states = tuple(
                self.cell.step(inputs.read(t), states, self._step_masks(constant_masks, per_step, t), weights)
            )
            return t + 1, new_states, tuple(seq.write(t, s) for seq, s in zip(sequences, new_states))

        sequences = tuple(tf.TensorArray(projected.dtype, size=steps) for _ in range(kept_states))
        _, final, sequences = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(0), tuple(states), sequences),
            maximum_iterations=steps,
            parallel_iterations=32,
        )
        return tuple(seq.stack() for seq in sequences), final

    def _reverse_loop(self, projected, states, state_seqs, constant_masks, step_masks, weights, upstream):
        """Gradients with respect to ``(projected, *states, *weights)`` given the forward's state
        sequences and the upstream gradients (of the outputs if ``return_sequences``, then of the
        final states)."""
        cell, n_states = self.cell, len(states)
        steps = tf.shape(projected)[0]
        prev_seqs = [tf.concat([s[None], seq[:-1]], 0) for s, seq in zip(states, state_seqs)]
        inputs = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
        prev = [tf.TensorArray(projected.dtype, size=steps).unstack(seq) for seq in prev_seqs]
        per_step = {name: tf.TensorArray(tf.float32, size=steps).unstack(m) for name, m in step_masks.items()}
        d_outputs = tf.TensorArray(projected.dtype, size=steps).unstack(upstream[0]) if self.return_sequences else None

        def body(i, d_states, d_projected, d_terms):
            t = steps - 1 - i
            masks = self._step_masks(constant_masks, per_step, t)
            step_input, step_states = inputs.read(t), [ta.read(t) for ta in prev]
            if d_outputs is not None:
                d_states = (d_states[0] + d_outputs.read(t), *d_states[1:])
            with tf.GradientTape() as tape:
                tape.watch([step_input, *step_states])
                term = cell.recurrent_term(step_states[0], masks.get("recurrent"), weights)
                new_states = cell.advance(step_input, term, tuple(step_states), masks)
            # Not the weights: their gradient is one product over all steps after the loop.
            grads = tape.gradient(
                list(new_states),
                [step_input, term, *step_states],
                output_gradients=list(d_states),
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            return i + 1, tuple(grads[2:]), d_projected.write(t, grads[0]), d_terms.write(t, grads[1])

        _, d_initial, d_projected, d_terms = tf.while_loop(
            lambda i, *_: i < steps,
            body,
            (
                tf.constant(0),
                tuple(upstream[-n_states:]),
                tf.TensorArray(projected.dtype, size=steps),
                tf.TensorArray(projected.dtype, size=steps),
            ),
            maximum_iterations=steps,
        )
        recurrent_mask = step_masks.get("recurrent", constant_masks.get("recurrent"))
        d_weights = cell.recurrent_weight_gradients(prev_seqs[0], recurrent_mask, d_terms.stack(), weights)
        return [d_projected.stack(), *d_initial, *d_weights]

    def __call__(self, projected, states, constant_masks, step_masks, weights):
        states, weights = tuple(states), tuple(weights)
        if not self.jit_compile:
            sequences, final = self._loop(projected, states, constant_masks, step_masks, weights)
            return (sequences[0] if self.return_sequences else None), final
        n_states = len(states)

        # The compiled functions are called on stop_gradient'ed inputs: a tape that saw them would
        # ask TensorFlow for their gradient, which XLA cannot give; ours is the custom one below.
        constant_masks, step_masks = _frozen(constant_masks), _frozen(step_masks)

        @tf.custom_gradient
        def run(projected, *flat_inputs):
            projected, flat_inputs = _frozen(projected), _frozen(list(flat_inputs))
            own_states, own_weights = tuple(flat_inputs[:n_states]), tuple(flat_inputs[n_states:])
            state_seqs, final = self._forward(projected, own_states, constant_masks, step_masks, own_weights, n_states)
            flat = ([state_seqs[0]] if self.return_sequences else []) + list(final)

            def grad(*upstream):
                upstream = _frozen(_zeros_for_none(upstream, flat))
                return self._backward(
                    projected, own_states, state_seqs, constant_masks, step_masks, own_weights, upstream
                )

            return flat, grad

        flat = run(projected, *states, *weights)
        if self.return_sequences:
            return flat[0], tuple(flat[1:])
        return None, tuple(flat)
