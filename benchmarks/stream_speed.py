"""Lane-stream throughput and memory, side by side with plain h5py reads of the same windows.

Measures, in one process, one epoch at a time:

* windows/s of the ``tf.data`` lane stream (8 lanes, 24,000-sample windows, 16 channels, with
  left context, normalisation and event labels), consumed as NumPy;
* windows/s of plain contiguous h5py reads of exactly the same windows (no context, no
  normalisation), each into one reused buffer: the reference.

Each is timed twice per round: from disk (the files evicted from the page cache with
``posix_fadvise(DONTNEED)`` first: the rate a store larger than RAM streams at; target: stream
>= 0.7x plain) and from a warm page cache (memory-bound: the reference is then a memcpy, which
the stream's normalisation and batching cannot match; printed for information).

Then, in a child process (so that building the store does not count), the peak resident
memory of streaming the whole store once. Target: < 1 GB whatever the store's size: the stream
holds the batches in flight (a few groups of steps), no per-lane block.

The store holds Kaggle-sized synthetic recordings (10 min, 16 channels, 400 Hz), at least
``--store-gb`` (default 2.1 GB, as the target asks; an epoch then has ~170 steps, so the
stream's start-up, ~0.1 s, weighs as it would in a real epoch, not as in one of a few dozen
steps), under ``--dir`` (default: a temporary folder under /tmp, deleted at the end).

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/stream_speed.py [--store-gb 0.5 --repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np


def _rss_mb(field: str) -> float:
    """``VmRSS`` (current) or ``VmHWM`` (peak) of this process, MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _config(args):
    from eegseq.data.streamer import StreamConfig

    return StreamConfig(
        lanes=args.lanes, window=args.window, context=args.context, seed=0, block_samples=args.block_samples
    )


def _stores(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.h5"))


def build_store(args, folder: Path) -> None:
    from eegseq.data.ingest import ingest
    from eegseq.data.synthetic import SyntheticSpec

    bytes_per_recording = args.recording_samples * 16 * 4
    n = math.ceil(args.store_gb * 1e9 / bytes_per_recording)
    spec = SyntheticSpec(n_subjects=n, recordings_per_subject=1, n_samples=args.recording_samples)
    ingest(spec, folder, workers=1, progress=True)


def evict(folder: Path) -> None:
    """Drop the store files from the page cache (Linux; no privileges needed for clean pages)."""
    for path in _stores(folder):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def time_stream(args, folder: Path, stats) -> float:
    """Windows/s of one epoch of the tf.data stream, from the iterator's creation to the last
    batch (dataset construction and tf.function tracing are one-off costs, not throughput; so
    is the end of the iteration, where tf.data was seen to take 0.3-1.3 s after the generator
    had returned, once per dataset: once per job in training).

    Batches are taken as the tensors a model consumes: ``.numpy()`` on a signal would time a
    12 MB copy that training never makes (TensorFlow copies a tensor it adopted from NumPy).
    """
    from eegseq.data.streamer import LaneStreamer
    from eegseq.data.tfdata import make_dataset

    dataset = make_dataset(LaneStreamer(_stores(folder), _config(args), stats), epochs=1)
    start, windows = time.perf_counter(), 0
    for batch in dataset:
        windows += int((batch["length"].numpy() > 0).sum())
        last = time.perf_counter()
    return windows / (last - start)


def time_plain(args, folder: Path) -> float:
    """Windows/s of reading every window of every recording with one contiguous h5py read each,
    into one reused buffer (fresh arrays would time page faults, not reads)."""
    buffer = None
    start, windows = time.perf_counter(), 0
    for path in _stores(folder):
        with h5py.File(path, "r") as f:
            data = f["signal"]
            if buffer is None:
                buffer = np.empty((args.window, data.shape[1]), np.float32)
            for first in range(0, data.shape[0], args.window):
                stop = min(first + args.window, data.shape[0])
                data.read_direct(buffer, np.s_[first:stop], np.s_[: stop - first])
                windows += 1
    return windows / (time.perf_counter() - start)


def memory_child(args, folder: Path) -> None:
    """Stream the whole store once through tf.data; print peak RSS figures as JSON."""
    import tensorflow as tf  # noqa: F401  (import cost belongs to the baseline)

    from eegseq.data.normalisation import ChannelStats
    from eegseq.data.streamer import LaneStreamer
    from eegseq.data.tfdata import make_dataset

    stats = ChannelStats.load(folder / "stats.json")
    streamer = LaneStreamer(_stores(folder), _config(args), stats)
    dataset = make_dataset(streamer)
    baseline = _rss_mb("VmRSS")
    windows = sum(int((batch["length"].numpy() > 0).sum()) for batch in dataset)
    peak = _rss_mb("VmHWM")
    print(json.dumps({"windows": windows, "baseline_mb": baseline, "peak_mb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recording-samples", type=int, default=240_000)
    parser.add_argument("--store-gb", type=float, default=2.1, help="make the store at least this large")
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--window", type=int, default=24_000)
    parser.add_argument("--context", type=int, default=1023, help="receptive field - 1, samples")
    parser.add_argument("--block-samples", type=int, default=1 << 18, help="read-ahead per lane, samples")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="store folder (kept); default: temporary, deleted")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.memory_child:
        memory_child(args, args.dir)
        return
    folder = args.dir or Path(tempfile.mkdtemp(prefix="eegseq-stream-bench-", dir="/tmp"))
    try:
        from eegseq.data.normalisation import compute_channel_stats

        build_store(args, folder)
        size_gb = sum(p.stat().st_size for p in _stores(folder)) / 1e9
        t0 = time.perf_counter()
        stats = compute_channel_stats(_stores(folder))
        stats_s = time.perf_counter() - t0
        stats.save(folder / "stats.json")
        print(
            f"store: {len(_stores(folder))} recordings, {size_gb:.2f} GB; stats pass {stats_s:.1f} s "
            f"({size_gb / stats_s:.2f} GB/s)"
        )

        time_stream(args, folder, stats)  # one-off start-up costs of the first tf.data pipeline
        rates = {(who, cache): [] for who in ("stream", "plain") for cache in ("disk", "warm")}
        runs = [("stream", lambda: time_stream(args, folder, stats)), ("plain", lambda: time_plain(args, folder))]
        for round_index in range(args.repeats):
            for cache in ("disk", "warm"):
                # each goes first every other round: a shared VM's disk is throttled by the host,
                # and how much one run is throttled depends on what ran just before it
                for who, run in runs[:: 1 if round_index % 2 == 0 else -1]:
                    if cache == "disk":
                        evict(folder)
                    else:
                        time_plain(args, folder)  # make sure every page is cached
                    rates[who, cache].append(run())
        print(
            f"lanes={args.lanes} window={args.window} context={args.context} channels=16, "
            f"{args.repeats} rounds of one epoch each"
        )
        for cache, note in (("disk", "target >= 0.7x"), ("warm", "memory-bound; information")):
            s, p = statistics.median(rates["stream", cache]), statistics.median(rates["plain", cache])
            for who, median in (("tf.data lane stream", s), ("plain h5py windows", p)):
                runs = ", ".join(f"{v:.0f}" for v in rates[("stream" if who.startswith("tf") else "plain"), cache])
                print(f"{cache:4s} {who:20s}: {median:8.1f} windows/s (median; runs {runs})")
            print(f"{cache:4s} ratio stream/plain : {s / p:.2f}x ({note})")

        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-child",
                "--dir",
                str(folder),
                "--lanes",
                str(args.lanes),
                "--window",
                str(args.window),
                "--context",
                str(args.context),
                "--block-samples",
                str(args.block_samples),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        memory = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"memory (child, whole store once, {memory['windows']} windows): peak RSS {memory['peak_mb']:.0f} MB, "
            f"after imports/setup {memory['baseline_mb']:.0f} MB, "
            f"growth {memory['peak_mb'] - memory['baseline_mb']:.0f} MB "
            f"(the batches in flight; target peak < 1024 MB)"
        )
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
