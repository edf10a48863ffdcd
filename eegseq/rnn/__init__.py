"""Recurrent dropout for tf-keras: pluggable schemes, explicit mask scopes, a fast stateful layer.

Knows nothing of EEG. The contract is ``shared/design/recurrent-dropout.md`` and
``shared/design/stateful-streaming.md``; the user guide is ``docs/recurrent-dropout.md``.

* :class:`DropoutSpec` (``spec.py``): scheme, scope, scaling, presets, validation.
* :class:`DropoutLSTMCell` (``lstm.py``), :class:`DropoutGRUCell` (``gru.py``): the equations.
* :mod:`~eegseq.rnn.masks`: mask layout and sampling (:func:`sample_masks`, :func:`inference_masks`).
* :class:`StreamRNN` (``stream.py``): windows, carried state and masks, resets, fused dispatch.
"""

import lazy_loader

# Names are imported on first use: see the note in eegseq/__init__.py.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "gru": ["DropoutGRUCell"],
        "lstm": ["DropoutLSTMCell"],
        "masks": ["inference_masks", "sample_masks"],
        "spec": ["PRESETS", "SCALINGS", "SCHEMES", "SCOPES", "DropoutSpec"],
        "stream": ["StreamRNN"],
    },
)
