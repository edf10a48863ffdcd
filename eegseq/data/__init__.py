"""Data layer: readers, recording store, manifests, synthetic recordings and the lane streamer.

Knows nothing of models or cells (see ``../shared/design/architecture.md``).
"""

from eegseq.data.recording import Event, Recording
from eegseq.data.errors import RecordingError
from eegseq.data.readers import read_recording

__all__ = ["Event", "Recording"]
__all__ += ["RecordingError", "read_recording"]
from eegseq.data.store import StoreReader, write_store
from eegseq.data.manifest import ManifestError, ManifestRow, SplitSpec, load_manifest, read_manifest
from eegseq.data.synthetic import SyntheticSpec, generate_recording
from eegseq.data.normalisation import ChannelStats, compute_channel_stats
from eegseq.data.streamer import LabelRule, LaneStreamer, StreamConfig
from eegseq.data.ingest import IngestReport, ingest

__all__ += ["StoreReader", "write_store", "ManifestError", "ManifestRow", "SplitSpec", "load_manifest",
            "read_manifest", "SyntheticSpec", "generate_recording", "ChannelStats", "compute_channel_stats",
            "LabelRule", "LaneStreamer", "StreamConfig", "IngestReport", "ingest"]
