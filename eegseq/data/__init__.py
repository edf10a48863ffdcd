"""Data layer: readers, recording store, manifests, synthetic recordings and the lane streamer.

Knows nothing of models or cells (see ``../shared/design/architecture.md``).
"""

from eegseq.data.recording import Event, Recording
from eegseq.data.errors import RecordingError
from eegseq.data.readers import read_recording

__all__ = ["Event", "Recording"]
__all__ += ["RecordingError", "read_recording"]
