"""The stateful seizure model: causal CNN front-end -> stacked ``StreamRNN`` -> window (and step) head.

The Keras model is functional with explicit state passing, so one saved ``model.keras`` serves
training (custom loops, ``tf.distribute``) and inference. Its inputs (a dict):

* ``signal``: ``(batch, context + window, channels)`` float32, µV after normalisation; the first
  ``context`` samples are the left context of :func:`~eegseq.models.frontend.context_samples`;
* ``reset``: ``(batch,)`` 1 where a lane starts a new recording; ``lane_keys``: ``(batch,)`` int64;
* one input per carried state tensor, named ``<rnn layer>__<state name>``.

Its outputs (a dict): ``window_logit`` ``(batch, 1)``, ``step_logits`` ``(batch, steps, 1)`` when
``step_head`` is on, and the new state under the same names as the state inputs.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from eegseq.models.config import ConvBlockConfig, ModelConfig
from eegseq.models.frontend import context_samples, frontend_layers, receptive_field, total_stride
from eegseq.models.stock import StockStreamRNN
from eegseq.rnn import ChronoBias, DropoutGRUCell, DropoutLSTMCell, StreamRNN

CELLS = {"lstm": DropoutLSTMCell, "gru": DropoutGRUCell}
RNN_LAYERS = (StreamRNN, StockStreamRNN)


@keras.utils.register_keras_serializable(package="eegseq")
class LastStep(keras.layers.Layer):
    """``(batch, steps, features)`` -> ``(batch, features)``: the window's last step."""

    def call(self, inputs):
        return inputs[:, -1]


def _state_inputs(layer: StreamRNN | StockStreamRNN) -> dict[str, keras.Input]:
    specimen = layer.get_initial_state(1)
    return {
        f"{layer.name}__{name}": keras.Input(tensor.shape[1:], dtype=tensor.dtype, name=f"{layer.name}__{name}")
        for name, tensor in zip(layer.state_names, specimen)
    }


def build_model(config: ModelConfig) -> keras.Model:
    """Build the functional Keras model described in the module docstring."""
    crop = context_samples(config.frontend) // total_stride(config.frontend)
    inputs = {
        "signal": keras.Input((None, config.channels), name="signal"),
        "reset": keras.Input((), name="reset"),
        "lane_keys": keras.Input((), dtype="int64", name="lane_keys"),
    }
    x = inputs["signal"]
    for layer in frontend_layers(config.frontend, config.normalization):
        x = layer(x)
    x = keras.layers.Cropping1D((crop, 0), name="drop_context")(x)  # outputs of the left context
    outputs = {}
    features = config.frontend[-1].filters if config.frontend else config.channels
    for index in range(config.rnn.layers):
        cell_name, units, dropout = config.rnn.layer(index)
        if index and config.rnn.between_dropout and dropout.input_rate is None:
            # Dropout between stacked layers is the next layer's variational input dropout: its masks
            # are keyed like the recurrent ones, so streams, replicas and resumed runs draw the same.
            dropout = dropout.model_copy(update={"input_rate": config.rnn.between_dropout})
        last = index == config.rnn.layers - 1
        seed = config.seed * 1000 + index
        # Seeded initializers: both implementations start from the same kernels for the same seed.
        initializers = {
            "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
            "recurrent_initializer": keras.initializers.Orthogonal(seed=seed),
        }
        if config.rnn.chrono_max_steps is not None:
            initializers["bias_initializer"] = ChronoBias(cell_name, config.rnn.chrono_max_steps, seed=seed)
            if cell_name == "lstm":
                initializers["unit_forget_bias"] = False
        if config.rnn.implementation == "tf_keras_builtin":
            spec = dropout.spec()
            layer = StockStreamRNN(
                cell_name,
                units,
                recurrent_dropout=spec.rate,
                dropout=spec.input_rate,
                return_sequences=not last or config.step_head,
                seed=seed,
                name=f"rnn_{index}",
                **initializers,
            )
        else:
            layer = StreamRNN(
                CELLS[cell_name](units, dropout.spec(), **initializers),
                return_sequences=not last or config.step_head,
                return_state=True,
                seed=seed,
                name=f"rnn_{index}",
            )
        layer.build((None, None, features))
        state_inputs = _state_inputs(layer)
        inputs.update(state_inputs)
        result = layer(
            x, reset=inputs["reset"], lane_keys=inputs["lane_keys"], initial_state=list(state_inputs.values())
        )
        x = result[0]
        outputs.update({name: tensor for name, tensor in zip(state_inputs, result[1:])})
        features = units
    head = keras.layers.Dense(1, name="head")
    if config.step_head:
        outputs["step_logits"] = head(x)
        outputs["window_logit"] = LastStep(name="last_step")(outputs["step_logits"])
    else:
        outputs["window_logit"] = head(x)
    return keras.Model(inputs, outputs, name="eegseq_stream_model")


class StreamModel:
    """A built or loaded stream model with what a streamer and a training loop need to know.

    Args:
        model: the functional model from :func:`build_model` (or ``keras.models.load_model``).
    """

    def __init__(self, model: keras.Model):
        self.model = model
        blocks = [
            ConvBlockConfig(filters=layer.filters, kernel_size=layer.kernel_size[0], stride=layer.strides[0])
            for layer in model.layers
            if isinstance(layer, keras.layers.Conv1D)
        ]
        self.receptive_field = receptive_field(blocks)
        self.stride = total_stride(blocks)
        self.context = context_samples(blocks)
        self.rnn_layers = [layer for layer in model.layers if isinstance(layer, RNN_LAYERS)]
        self.state_names = [f"{layer.name}__{name}" for layer in self.rnn_layers for name in layer.state_names]

    @classmethod
    def build(cls, config: ModelConfig) -> StreamModel:
        return cls(build_model(config))

    def initial_state(self, batch_size: int) -> dict[str, tf.Tensor]:
        """Fresh lanes for every RNN layer."""
        state = {}
        for layer in self.rnn_layers:
            for name, tensor in zip(layer.state_names, layer.get_initial_state(batch_size)):
                state[f"{layer.name}__{name}"] = tensor
        return state

    def __call__(self, signal, reset, lane_keys, state: dict, training: bool = False):
        """One window for every lane: ``(window_logit (B, 1), step_logits or None, new state)``."""
        outputs = self.model({"signal": signal, "reset": reset, "lane_keys": lane_keys, **state}, training=training)
        new_state = {name: outputs[name] for name in self.state_names}
        return outputs["window_logit"], outputs.get("step_logits"), new_state

    def check_window(self, window_samples: int) -> None:
        """Windows must be whole multiples of the front-end stride for exact streaming."""
        if window_samples % self.stride:
            raise ValueError(
                f"window length {window_samples} samples is not a multiple of the model's total stride {self.stride}"
            )


def predict_recording(stream_model: StreamModel, signal: np.ndarray, window_samples: int, lane_key: int = 0):
    """Window logits of one recording streamed window by window in inference mode.

    Args:
        signal: ``(n_samples, channels)`` float32, normalised; ``n_samples`` a multiple of ``window_samples``.

    Returns:
        ``(n_windows,)`` float32 logits.
    """
    stream_model.check_window(window_samples)
    padded = np.concatenate([np.zeros((stream_model.context, signal.shape[1]), np.float32), signal])
    state = stream_model.initial_state(1)
    logits = []
    for index, start in enumerate(range(0, signal.shape[0] - window_samples + 1, window_samples)):
        window = padded[None, start : start + stream_model.context + window_samples]
        logit, _, state = stream_model(window, np.array([float(index == 0)], np.float32), np.array([lane_key]), state)
        logits.append(float(logit.numpy()[0, 0]))
    return np.asarray(logits, np.float32)
