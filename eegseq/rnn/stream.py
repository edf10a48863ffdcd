"""``StreamRNN``: runs a dropout cell over a window and owns the masks' lifetime across windows.

A lane's carried state is a flat list (see :attr:`StreamRNN.state_names`):

* ``h`` (and ``c`` for the LSTM): ``(batch, units)`` float32;
* ``lane``: ``(batch, 2)`` int64, ``[masks_ready, steps_seen]``: whether the lane's carried masks
  were drawn for its current recording, and how many steps of that recording it has processed
  (the counter that keys ``window`` and ``step`` masks, so a recording draws the same masks
  whichever lane plays it);
* one ``(batch, *shape)`` float32 tensor per ``recording``-scope mask, named ``mask_<name>``.

Three ways to carry it: ``stateful=True`` (Keras style, one device, fixed batch), explicit state
passing (``initial_state=`` in, ``return_state=True`` out: custom loops and ``tf.distribute``), or
nothing (every call starts fresh lanes).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from eegseq.rnn import engine, fused, gru, lstm  # noqa: F401  (gru, lstm: registers the cells a saved StreamRNN names)
from eegseq.rnn.masks import LOOP, carried_slots, inference_masks, sample_window
from eegseq.rnn.recurrence import WindowRecurrence

_READY, _STEPS = 0, 1


@keras.utils.register_keras_serializable(package="eegseq")
class StreamRNN(keras.layers.Layer):
    """Run a :class:`~eegseq.rnn.DropoutLSTMCell` / :class:`~eegseq.rnn.DropoutGRUCell` over windows.

    Args:
        cell: the cell (its dropout spec says which masks exist and how long they live).
        return_sequences: return ``(batch, steps, units)`` instead of the last output ``(batch, units)``.
        return_state: also return the carried state list (``[output, *states]``).
        stateful: keep the state in variables between calls (needs a fixed batch size).
        seed: this layer's mask seed; give each layer of a model its own.
        use_fused: run LSTM windows in which no mask acts inside the recurrence with TensorFlow's
            fused block LSTM kernel (True) or the XLA loop (False). None (default): whichever is
            faster for the window's shape on this machine, timed once per setting and process
            (:mod:`eegseq.rnn.engine`; under op determinism: fused only where a GPU is visible).
        jit_compile: compile the loop over timesteps with XLA (see :mod:`eegseq.rnn.recurrence`);
            False runs a plain ``tf.while_loop``.
        memory: what the XLA loop keeps for its backward pass: ``"save"`` (default) every step's
            states; ``"recompute"`` only the first state of every ``⌈√T⌉``-step segment, rerunning
            each segment's forward in the backward pass (peak memory per step below the stock
            layer's, for about one more forward pass; see ``docs/recurrent-dropout.md``). Needs
            ``jit_compile=True``; windows then never take the fused kernel, which keeps every step.

    Call args:
        inputs: ``(batch, steps, features)``.
        reset: optional ``(batch,)`` bool/0-1; lanes with 1 start a new recording: their ``h``/``c`` are
            zeroed, their step counter restarts and their ``recording``-scope masks are redrawn.
        lane_keys: optional ``(batch,)`` int64 keys of the recording each lane plays, with the epoch and
            run seed folded in (:func:`~eegseq.rnn.recording_keys`; default: the lane index). They
            key every mask drawn: the same key draws the same masks in any lane.
        initial_state: optional state list, either the full :attr:`state_names` list or only the
            cell's ``[h, c]`` / ``[h]`` (the rest then starts fresh).
        masks: optional ``{name: tensor}`` to use instead of sampling (see :mod:`eegseq.rnn.masks`
            for shapes; ``step``-scope masks are ``(batch, steps, ...)``). Applied in training and inference.
        training: Keras' training flag.
    """

    def __init__(
        self,
        cell,
        return_sequences: bool = False,
        return_state: bool = False,
        stateful: bool = False,
        seed: int = 0,
        use_fused: bool | None = None,
        jit_compile: bool = True,
        memory: str = "save",
        **kwargs,
    ):
        if isinstance(cell, dict):
            cell = keras.layers.deserialize(cell)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.stateful = stateful
        self.seed = int(seed)
        self.use_fused = use_fused
        self.jit_compile = jit_compile
        self.memory = memory
        if memory == "recompute" and use_fused:
            raise ValueError(f"StreamRNN: use_fused=True keeps every step, which memory={memory!r} is meant to avoid")
        self._state_variables: list[tf.Variable] | None = None
        self._recurrence = WindowRecurrence(cell, return_sequences, jit_compile, memory)

    # ---- state layout --------------------------------------------------------------------------
    @property
    def _carried(self):
        return carried_slots(self.cell.mask_slots, self.cell.spec)

    @property
    def state_names(self) -> list[str]:
        """Names of the carried state tensors, in order."""
        cell_states = ["h", "c"] if self.cell.has_cell_state else ["h"]
        return cell_states + ["lane"] + [f"mask_{slot.name}" for slot in self._carried]

    def get_initial_state(self, batch_size) -> list[tf.Tensor]:
        """Fresh lanes: zero states, masks not yet drawn."""
        units = self.cell.units
        cell_states = [tf.zeros((batch_size, units)) for _ in self.cell.state_size]
        lane = tf.zeros((batch_size, 2), tf.int64)
        masks = [tf.zeros(tf.concat([[batch_size], slot.shape], 0)) for slot in self._carried]
        return cell_states + [lane] + masks

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        self.cell.build(tf.TensorShape([input_shape[0], input_shape[-1]]))
        if self.stateful:
            batch = input_shape[0]
            if batch is None:
                raise ValueError(
                    f"StreamRNN {self.name!r}: stateful=True needs a fixed batch size (lanes); "
                    "give the Input a batch_size, or use explicit state passing"
                )
            self._set_state_variables(
                [
                    tf.Variable(t, trainable=False, name=n)
                    for n, t in zip(self.state_names, self.get_initial_state(batch))
                ]
            )
        self.built = True

    @tf.__internal__.tracking.no_automatic_dependency_tracking
    def _set_state_variables(self, variables):
        # As in Keras' stateful RNNs, the carried state is not a weight: get_weights()/set_weights()
        # move only kernel, recurrent_kernel and bias, and stay compatible with the stock layers.
        self._state_variables = variables

    def reset_states(self):
        """Zero a stateful layer's state: every lane starts a new recording at its next call."""
        if self._state_variables is None:
            raise ValueError(f"StreamRNN {self.name!r} is not stateful")
        batch = self._state_variables[0].shape[0]
        for variable, value in zip(self._state_variables, self.get_initial_state(batch)):
            variable.assign(value)

    # ---- the call ------------------------------------------------------------------------------
    def call(self, inputs, reset=None, lane_keys=None, initial_state=None, masks=None, training=None):
        cell = self.cell
        inputs = tf.convert_to_tensor(inputs)
        batch = tf.shape(inputs)[0]
        steps = tf.shape(inputs)[1]
        states = self._incoming_state(initial_state, batch)
        n_cell = len(cell.state_size)
        cell_states, lane = states[:n_cell], states[n_cell]
        carried = dict(zip((s.name for s in self._carried), states[n_cell + 1 :]))

        reset = tf.zeros((batch,), tf.bool) if reset is None else tf.cast(tf.reshape(reset, (-1,)), tf.bool)
        lane_keys = (
            tf.range(batch, dtype=tf.int64) if lane_keys is None else tf.cast(tf.reshape(lane_keys, (-1,)), tf.int64)
        )
        keep = tf.cast(~reset, tf.float32)[:, None]
        cell_states = [s * keep for s in cell_states]
        steps_seen = tf.where(reset, tf.zeros_like(lane[:, _STEPS]), lane[:, _STEPS])
        fresh = reset | tf.equal(lane[:, _READY], 0)

        window_masks, carried, ready = self._window_masks(
            training, masks, carried, fresh, lane_keys, steps_seen, steps, batch
        )
        outputs_tm, final_states = self._run(inputs, cell_states, window_masks, training)

        new_lane = tf.stack([ready, steps_seen + tf.cast(steps, tf.int64)], axis=1)
        new_states = list(final_states) + [new_lane] + [carried[s.name] for s in self._carried]
        if self._state_variables is not None:
            for variable, value in zip(self._state_variables, new_states):
                variable.assign(value)
        output = tf.transpose(outputs_tm, (1, 0, 2)) if self.return_sequences else final_states[0]
        return [output] + new_states if self.return_state else output

    def _incoming_state(self, initial_state, batch) -> list[tf.Tensor]:
        if initial_state is not None:
            if self.stateful:
                raise ValueError(f"StreamRNN {self.name!r}: pass initial_state or use stateful=True, not both")
            initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            n_cell = len(self.cell.state_size)
            if len(initial_state) == n_cell:
                return initial_state + self.get_initial_state(batch)[n_cell:]
            if len(initial_state) != len(self.state_names):
                raise ValueError(
                    f"StreamRNN {self.name!r}: initial_state has {len(initial_state)} tensors; expected "
                    f"{n_cell} (the cell's states) or {len(self.state_names)} ({', '.join(self.state_names)})"
                )
            return initial_state
        if self._state_variables is not None:
            return [tf.convert_to_tensor(v) for v in self._state_variables]
        return self.get_initial_state(batch)

    def _window_masks(self, training, explicit, carried, fresh, lane_keys, steps_seen, steps, batch):
        """The masks of this window, the carried masks after it, and each lane's ``masks_ready`` flag.

        Returns masks in loop layout: lane masks ``(batch, ...)``, step masks time-major
        ``(steps, batch, ...)``, weight masks as is, inference constants as Python floats.
        """
        cell, spec = self.cell, self.cell.spec
        slots = {slot.name: slot for slot in cell.mask_slots}
        if explicit is not None:
            if set(explicit) != set(slots):
                raise ValueError(
                    f"StreamRNN {self.name!r}: masks= must give exactly the masks of scheme={spec.scheme!r} "
                    f"(input_rate={spec.input_rate}): expected {sorted(slots)}, got {sorted(explicit)}"
                )
            masks = {name: tf.convert_to_tensor(explicit[name], tf.float32) for name in slots}
            carried = {**carried, **{n: masks[n] for n in carried if n in masks}}
            ready = tf.ones((batch,), tf.int64)
        elif training:
            masks, carried = sample_window(
                cell.mask_slots,
                spec,
                seed=self.seed,
                lane_keys=lane_keys,
                steps_seen=steps_seen,
                steps=steps,
                carried=carried,
                fresh=fresh,
            )
            ready = tf.ones((batch,), tf.int64)
        else:
            masks = {name: value for name, value in inference_masks(cell).items() if value != 1.0}
            ready = tf.where(fresh, tf.zeros((batch,), tf.int64), tf.ones((batch,), tf.int64))
        for name in masks:
            if slots[name].kind == LOOP and slots[name].lifetime(spec) == "step" and not isinstance(masks[name], float):
                masks[name] = tf.transpose(masks[name], [1, 0] + list(range(2, masks[name].shape.rank)))
        return masks, carried, ready

    def _fused(self, inputs, training) -> bool:
        """Whether an unmasked LSTM window runs in the fused kernel."""
        if self.use_fused is not None or self.memory == "recompute":
            return bool(self.use_fused)
        return engine.use_fused(self.cell, inputs.shape[0], inputs.shape[1], bool(training))

    def _run(self, inputs, cell_states, masks, training):
        """The recurrence over one window: ``(outputs (steps, batch, units) or None, final cell states)``."""
        cell = self.cell
        inputs_tm = tf.transpose(inputs, (1, 0, 2))
        input_mask = masks.get("input")
        if input_mask is not None and not isinstance(input_mask, float):
            input_mask = input_mask[None]  # (1, batch, features): reused at every step
        loop_masks, weights = cell.prepare_loop(masks)
        if cell.has_cell_state and not loop_masks and self._fused(inputs, training):
            masked = inputs_tm if input_mask is None else inputs_tm * input_mask
            h_seq, c_seq = fused.block_lstm(masked, cell_states[0], cell_states[1], cell.kernel, weights[0], cell.bias)
            return h_seq, (h_seq[-1], c_seq[-1])
        step_names = {s.name for s in cell.mask_slots if s.kind == LOOP and s.lifetime(cell.spec) == "step"}
        per_step = {n: m for n, m in loop_masks.items() if n in step_names and not isinstance(m, float)}
        constant = {n: m for n, m in loop_masks.items() if n not in per_step}
        projected = cell.project_inputs(inputs_tm, input_mask)
        return self._recurrence(projected, cell_states, constant, per_step, weights)

    # ---- serialisation -------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            cell=keras.layers.serialize(self.cell),
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            stateful=self.stateful,
            seed=self.seed,
            use_fused=self.use_fused,
            jit_compile=self.jit_compile,
            memory=self.memory,
        )
        return config
