"""The loop over a window's timesteps, compiled with XLA and differentiated by recomputation.

TensorFlow's graph executor pays tens of microseconds per op per timestep, which dominates a
small recurrent cell over thousands of steps. XLA compiles the whole loop into one kernel, but a
``jit_compile`` function's gradient cannot hand its per-step accumulators back to TensorFlow.
So the forward loop and a vector-Jacobian product that recomputes the forward loop inside one
XLA program are two compiled functions joined by ``tf.custom_gradient``: the backward pass runs
the window twice (cheap once compiled) and no per-step activations are kept between the passes.
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
        return_sequences: also collect every step's output.
        jit_compile: compile with XLA (recomputing backward); False runs a plain ``tf.while_loop``
            differentiated by TensorFlow.

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
            self._backward = tf.function(self._vjp, jit_compile=True, autograph=False)

    def _loop(self, projected, states, constant_masks, step_masks, weights):
        steps = tf.shape(projected)[0]
        inputs = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
        per_step = {name: tf.TensorArray(tf.float32, size=steps).unstack(m) for name, m in step_masks.items()}

        def advance(t, states):
            masks = dict(constant_masks)
            masks.update({name: ta.read(t) for name, ta in per_step.items()})
            return self.cell.step(inputs.read(t), states, masks, weights)

        def body_with_outputs(t, states, outputs):
            h, new_states = advance(t, states)
            return t + 1, tuple(new_states), outputs.write(t, h)

        def body(t, states):
            return t + 1, tuple(advance(t, states)[1])

        loop_vars = (tf.constant(0), tuple(states))
        if self.return_sequences:
            loop_vars += (tf.TensorArray(projected.dtype, size=steps),)
        result = tf.while_loop(
            lambda t, *_: t < steps,
            body_with_outputs if self.return_sequences else body,
            loop_vars,
            maximum_iterations=steps,
            parallel_iterations=32,
        )
        return (result[2].stack() if self.return_sequences else None), result[1]

    def _flat(self, result):
        outputs, final = result
        return ([outputs] if self.return_sequences else []) + list(final)

    def _vjp(self, projected, states, constant_masks, step_masks, weights, upstream):
        sources = [projected, *states, *weights]
        with tf.GradientTape() as tape:
            tape.watch(sources)
            flat = self._flat(self._loop(projected, states, constant_masks, step_masks, weights))
        return tape.gradient(flat, sources, output_gradients=upstream, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def __call__(self, projected, states, constant_masks, step_masks, weights):
        states, weights = tuple(states), tuple(weights)
        if not self.jit_compile:
            return self._loop(projected, states, constant_masks, step_masks, weights)
        n_states = len(states)

        # The compiled functions are called on stop_gradient'ed inputs: a tape that saw them would
        # ask TensorFlow for their gradient, which XLA cannot give; ours is the custom one below.
        constant_masks, step_masks = _frozen(constant_masks), _frozen(step_masks)

        @tf.custom_gradient
        def run(projected, *flat_inputs):
            projected, flat_inputs = _frozen(projected), _frozen(list(flat_inputs))
            own_states, own_weights = tuple(flat_inputs[:n_states]), tuple(flat_inputs[n_states:])
            flat = self._flat(self._forward(projected, own_states, constant_masks, step_masks, own_weights))

            def grad(*upstream):
                upstream = _frozen(_zeros_for_none(upstream, flat))
                return self._backward(projected, own_states, constant_masks, step_masks, own_weights, upstream)

            return flat, grad

        flat = run(projected, *states, *weights)
        if self.return_sequences:
            return flat[0], tuple(flat[1:])
        return None, tuple(flat)
