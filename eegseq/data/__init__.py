"""Data layer: readers, recording store, manifests, synthetic recordings and the lane streamer.

Knows nothing of models or cells. The lane stream's contract is docs/streaming.md.
"""

import lazy_loader

# Names are imported on first use: see the note in eegseq/__init__.py.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "recording": ["Event", "Recording"],
        "errors": ["RecordingError"],
        "readers": ["read_recording"],
        "store": ["StoreReader", "write_store"],
        "manifest": ["ManifestError", "ManifestRow", "SplitSpec", "load_manifest", "read_manifest"],
        "synthetic": ["SyntheticSpec", "generate_recording"],
        "normalisation": ["ChannelStats", "compute_channel_stats"],
        "streamer": ["LabelRule", "LaneStreamer", "StreamConfig"],
        "ingest": ["IngestReport", "ingest"],
    },
)
