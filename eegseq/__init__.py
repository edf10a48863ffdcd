"""eegseq: long-sequence EEG training with pluggable recurrent dropout.

Subpackages:
    eegseq.rnn         recurrent-dropout cells and the stateful stream layer (knows nothing of EEG)
    eegseq.data        readers, recording store, manifest, synthetic data, lane streamer
    eegseq.models      CNN front-end -> stacked stream RNN -> head
    eegseq.evaluation  window, recording and event-level metrics, plots, reports

Importing ``eegseq`` registers the custom Keras objects so that ``.keras`` files reload.
"""

__version__ = "0.1.0"

from eegseq import rnn  # noqa: F401  (registers the Keras serializables)
