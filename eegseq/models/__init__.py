"""The stateful seizure model: causal CNN front-end -> stacked ``eegseq.rnn`` layers -> head.

Meets the data stream only through plain tensors (signal windows with left context, ``reset``,
lane keys); knows nothing of ``eegseq.data``.
"""

from eegseq.models.config import ConvBlockConfig, DropoutConfig, ModelConfig, RNNLayerOverride, RNNStackConfig
from eegseq.models.frontend import context_samples, receptive_field, total_stride
from eegseq.models.network import LastStep, StreamModel, build_model, predict_recording

__all__ = [
    "ConvBlockConfig",
    "DropoutConfig",
    "LastStep",
    "ModelConfig",
    "RNNLayerOverride",
    "RNNStackConfig",
    "StreamModel",
    "build_model",
    "context_samples",
    "predict_recording",
    "receptive_field",
    "total_stride",
]
