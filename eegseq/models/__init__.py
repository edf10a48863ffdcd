"""The stateful seizure model: causal CNN front-end -> stacked ``eegseq.rnn`` layers -> head.

Meets the data stream only through plain tensors (signal windows with left context, ``reset``,
lane keys); knows nothing of ``eegseq.data``.
"""

import lazy_loader

# Names are imported on first use: see the note in eegseq/__init__.py.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "config": ["ConvBlockConfig", "DropoutConfig", "ModelConfig", "RNNLayerOverride", "RNNStackConfig"],
        "frontend": ["context_samples", "receptive_field", "total_stride"],
        "network": ["LastStep", "StreamModel", "build_model", "predict_recording"],
        "stock": ["StockStreamRNN"],
    },
)
