"""Recurrent dropout for tf-keras: pluggable schemes, explicit mask scopes, a fast stateful layer.

Knows nothing of EEG. The contract is ``shared/design/recurrent-dropout.md`` and
``shared/design/stateful-streaming.md``; the user guide is ``docs/recurrent-dropout.md``.

* :class:`DropoutSpec` (``spec.py``): scheme, scope, scaling, presets, validation.
* :class:`DropoutLSTMCell` (``lstm.py``), :class:`DropoutGRUCell` (``gru.py``): the equations.
* :mod:`~eegseq.rnn.masks`: mask layout and sampling (:func:`sample_masks`, :func:`inference_masks`).
* :class:`StreamRNN` (``stream.py``): windows, carried state and masks, resets, fused dispatch.
"""

from eegseq.rnn.gru import DropoutGRUCell
from eegseq.rnn.lstm import DropoutLSTMCell
from eegseq.rnn.masks import inference_masks, sample_masks
from eegseq.rnn.spec import PRESETS, SCALINGS, SCHEMES, SCOPES, DropoutSpec
from eegseq.rnn.stream import StreamRNN

__all__ = [
    "PRESETS",
    "SCALINGS",
    "SCHEMES",
    "SCOPES",
    "DropoutGRUCell",
    "DropoutLSTMCell",
    "DropoutSpec",
    "StreamRNN",
    "inference_masks",
    "sample_masks",
]
