"""Recurrent dropout for tf-keras: pluggable schemes, explicit mask scopes, a fast stateful layer.

Knows nothing of EEG. The user guide, with the equations and mask lifetimes, is
``docs/recurrent-dropout.md``.

* :class:`DropoutSpec` (``spec.py``): scheme, scope, scaling, presets, validation.
* :class:`DropoutLSTMCell` (``lstm.py``), :class:`DropoutGRUCell` (``gru.py``): the equations.
* :mod:`~eegseq.rnn.masks`: which masks each scheme uses, their keys (:func:`recording_keys`),
  lifetimes and draws (:func:`sample_masks`, :func:`inference_masks`).
* :class:`StreamRNN` (``stream.py``): windows, carried state and masks, resets, fused dispatch.
* :class:`ChronoBias` (``chrono.py``): gate biases for long memory from the first step.
"""

import lazy_loader

# Names are imported on first use: see the note in eegseq/__init__.py.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "chrono": ["ChronoBias"],
        "gru": ["DropoutGRUCell"],
        "lstm": ["DropoutLSTMCell"],
        "masks": ["inference_masks", "recording_keys", "sample_masks"],
        "spec": ["PRESETS", "SCALINGS", "SCHEMES", "SCOPES", "DropoutSpec"],
        "stream": ["StreamRNN"],
    },
)
