"""The ingest job: recordings (synthetic, a manifest or a dataset folder) -> store + manifest + stats."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from eegseq.data.ingest import STORE_MANIFEST, MixedRatesError, ingest
from eegseq.data.manifest import ManifestRow, load_manifest
from eegseq.data.normalisation import ChannelStats, compute_channel_stats
from eegseq.data.store import store_fingerprint
from eegseq.data.store_lock import StoreLock
from eegseq.files import atomic_write_json
from eegseq.pipelines.config import ConfigError, DataConfig

log = logging.getLogger(__name__)
STATS_FILE = "stats.json"
STATS_KEY_FILE = "stats.train.json"
REPORT_FILE = "ingest_report.json"


@dataclass(frozen=True)
class PreparedData:
    """A ready store: its folder, its manifest (read once), and the training split's channel statistics."""

    store_dir: Path
    manifest: Path
    rows: tuple[ManifestRow, ...]
    stats: ChannelStats

    def rows_of(self, split: str) -> list[ManifestRow]:
        """Rows of one split, in manifest order; a clear error when the split is empty or unknown."""
        return split_rows(self.rows, split, self.manifest)

    def stores(self, split: str) -> list[Path]:
        """Store files of one split, in manifest order."""
        return [self.store_dir / row.path for row in self.rows_of(split)]


def split_rows(rows: tuple[ManifestRow, ...], split: str, manifest: Path) -> list[ManifestRow]:
    """The ``rows`` of ``split`` (read from ``manifest``), or an error naming the splits there are."""
    chosen = [row for row in rows if row.split == split]
    if not chosen:
        known = sorted({row.split for row in rows})
        raise ValueError(f"split {split!r} does not exist in {manifest} (no recording in it); it has {known}")
    return chosen


def run_ingest(data: DataConfig, progress: bool = True, wait_for_store: bool = True) -> PreparedData:
    """Ingest what ``data`` names (resuming: recordings already stored with the same SHA-256 are
    skipped), write the report of skipped files, and compute the normalisation statistics of the
    training split in one streaming pass (kept beside the store, recomputed when the training files
    change). ``wait_for_store``: wait for another ingest writing the store (the processes of a multi-worker
    training or of a comparison each make sure their store is ready); False refuses instead (``eegseq ingest``)."""
    store_dir = data.store_dir
    if data.source == "synthetic":
        source, layout, root = data.synthetic, "manifest", None
    else:
        source = data.root / data.path
        layout = data.source if data.source != "manifest" else "manifest"
        root = data.root
    options = {
        key: value
        for key, value in (("channels", data.channels), ("montage", data.montage), ("target_sfreq", data.target_sfreq))
        if value
    }
    options["events_past_end"] = data.events_past_end
    try:
        report = ingest(
            source,
            store_dir,
            layout=layout,
            data_root=root,
            split=data.split,
            safe_labels=None if data.safe_labels is None else data.root / data.safe_labels,
            reader_options=options,
            workers=data.workers,
            progress=progress,
            on_error=data.on_error,
            wait_for_store=wait_for_store,
        )
    except MixedRatesError as error:
        raise ConfigError(f"data.target_sfreq: {error}") from None
    # Each problem is logged by the pass that finds it; later passes (evaluate's, a second ingest) only count.
    for rid, why in report.failed:
        log.warning("ingest skipped %s: %s", rid, why)
    if report.failed_before:
        log.warning(
            "ingest: %d recording(s) left out as before (unchanged since they failed; reasons in %s)",
            len(report.failed_before),
            store_dir / REPORT_FILE,
        )
    for rid, what in report.warnings:
        if rid in report.written:
            log.warning("ingest stored %s with a warning: %s", rid, what)
    manifest = store_dir / STORE_MANIFEST
    rows = tuple(load_manifest(manifest, store_dir))
    train = sorted(store_dir / row.path for row in split_rows(rows, "train", manifest))
    stats_path, key_path = store_dir / STATS_FILE, store_dir / STATS_KEY_FILE
    # keyed on the training files' contents, not their names: a rewritten recording changes the key
    key = {path.name: store_fingerprint(path) for path in train}
    # Written under the store's lock: an ingest that holds it removes the temporary files it finds in the
    # store (a killed writer's), which would include these writes' temporaries if they ran beside it.
    with StoreLock(store_dir, wait=True):
        atomic_write_json(
            store_dir / REPORT_FILE,
            {
                "written": report.written,
                "skipped_existing": report.skipped_existing,
                "failed": [{"recording": rid, "reason": why} for rid, why in report.failed],
                "failed_before": [{"recording": rid, "reason": why} for rid, why in report.failed_before],
                "warnings": [{"recording": rid, "warning": what} for rid, what in report.warnings],
            },
        )
        if stats_path.exists() and key_path.exists() and json.loads(key_path.read_text()) == key:
            stats = ChannelStats.load(stats_path)
        else:
            stats = compute_channel_stats(train)
            stats.save(stats_path)
            atomic_write_json(key_path, key)  # the training files these statistics belong to
    return PreparedData(store_dir, manifest, rows, stats)
