"""eegseq: long-sequence EEG training with pluggable recurrent dropout.

Subpackages:
    eegseq.rnn         recurrent-dropout cells and the stateful stream layer (knows nothing of EEG)
    eegseq.data        readers, recording store, manifest, synthetic data, lane streamer
    eegseq.models      CNN front-end -> stacked stream RNN -> head
    eegseq.evaluation  window, recording and event-level metrics, plots, reports

Subpackages and their names are imported on first use, so that ``import eegseq`` or
``import eegseq.data`` does not import TensorFlow (an ingest worker starts in about a second instead
of tens). ``.keras`` files name the module of each custom layer, which Keras imports when it loads them.
"""

import lazy_loader

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["data", "evaluation", "models", "rnn"])
