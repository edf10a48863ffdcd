"""Lane streamer: every sample once and in order, resets, context, padding, labels, shards, resume, stats."""

import json

import numpy as np
import pytest

from eegseq.data.normalisation import ChannelStats, compute_channel_stats
from eegseq.data.recording import Event, Recording
from eegseq.data.store import StoreReader, write_store
from eegseq.data.streamer import LabelRule, LaneStreamer, StreamConfig

SFREQ = 100.0
WINDOW, CONTEXT = 200, 37
# (id, n_samples, zero runs, events): lengths are not multiples of the window on purpose
RECORDINGS = [
    ("r0", 1000, [(250, 400)], [Event(3.0, 1.5, "sz")]),
    ("r1", 650, [], [Event(3.5, 0.5, "sz")]),  # ends exactly at a window boundary
    ("r2", 1234, [(0, 150)], [Event(0.5, 0.4, "sz_foc"), Event(8.0, 20.0, "sz")]),
    ("r3", 90, [], [Event(0.1, 0.2, "bckg")]),
    ("r4", 800, [(500, 700)], [Event(1.0, 1.0, "sz"), Event(1.5, 1.0, "sz")]),
    ("r5", 401, [], []),
    ("r6", 1600, [], [Event(15.99, 0.01, "sz")]),
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stores")
    paths, arrays = [], {}
    for index, (rid, n, zero_runs, events) in enumerate(RECORDINGS):
        signal = (np.random.default_rng(index).standard_normal((n, 3)) * (index + 1) + index).astype(np.float32)
        for start, stop in zero_runs:
            signal[start:stop] = 0.0
        rec = Recording(signal, SFREQ, ("a", "b", "c"), events, index % 2, f"test:{rid}")
        paths.append(
            write_store(rec, folder / f"{rid}.h5", recording_id=rid, source_sha256="0" * 64, min_dropout_samples=10)
        )
        arrays[rid] = signal
    return paths, arrays


def _config(**kw):
    return StreamConfig(**({"lanes": 3, "window": WINDOW, "context": CONTEXT, "seed": 5, "block_samples": 450} | kw))


def _all(streamer, **kw):
    return list(streamer.batches(**kw))


def test_every_sample_once_in_order_per_lane_with_resets_context_and_padding(stores):
    paths, arrays = stores
    streamer = LaneStreamer(paths, _config())
    batches = _all(streamer)
    assert len(batches) == streamer.steps_in_epoch(0)
    rebuilt = {rid: [] for rid in arrays}
    lane_sequences = [[] for _ in range(3)]
    for batch in batches:
        for lane in range(3):
            rid = batch["recording_id"][lane].decode()
            start, length = int(batch["start"][lane]), int(batch["length"][lane])
            window = batch["signal"][lane]
            if rid == "":  # padding
                assert (batch["valid"][lane], batch["reset"][lane], batch["label"][lane], start, length) == (
                    0,
                    0,
                    -1,
                    -1,
                    0,
                )
                assert not window.any()
                lane_sequences[lane].append(None)
                continue
            x = arrays[rid]
            assert batch["reset"][lane] == float(start == 0)
            assert start == sum(len(w) for w in rebuilt[rid]), "windows of a recording must be contiguous"
            expected_context = np.zeros((CONTEXT, 3), np.float32)
            available = x[max(0, start - CONTEXT) : start]
            expected_context[CONTEXT - len(available) :] = available
            np.testing.assert_array_equal(window[:CONTEXT], expected_context)
            np.testing.assert_array_equal(window[CONTEXT + length :], 0)
            rebuilt[rid].append(window[CONTEXT : CONTEXT + length])
            lane_sequences[lane].append(rid)
    for rid, pieces in rebuilt.items():
        np.testing.assert_array_equal(np.concatenate(pieces), arrays[rid])
    for lane, sequence in enumerate(lane_sequences):
        played = [rid for i, rid in enumerate(sequence) if rid is not None and (i == 0 or sequence[i - 1] != rid)]
        assert played == [streamer.recordings[i].id for i in streamer.schedule(0)[lane]]
        if None in sequence:  # once a lane pads, it pads to the end
            assert all(rid is None for rid in sequence[sequence.index(None) :])
    assert any(None in sequence for sequence in lane_sequences)


def _hand_labels(rid, start, length, types, min_overlap):
    n = dict((r[0], r[1]) for r in RECORDINGS)[rid]
    covered = np.zeros(n + WINDOW, bool)
    for event in dict((r[0], r[3]) for r in RECORDINGS)[rid]:
        if any(event.label == t or event.label.startswith(t + "_") for t in types):
            # sample i is covered when [i, i+1) intersects the event; the events above are on whole samples
            covered[int(round(event.onset * SFREQ)) : int(round(event.offset * SFREQ))] = True
    fraction = covered[start : start + length].sum() / length
    if fraction == 0:
        return 0
    return 1 if fraction >= min_overlap else -1  # under the bound: the unclear margin, unlabelled


@pytest.mark.parametrize("min_overlap", [0.0, 0.5, 1.0])
def test_event_labels_match_a_hand_computed_overlap(stores, min_overlap):
    paths, _ = stores
    rule = LabelRule(source="events", event_types=("sz",), min_overlap=min_overlap)
    positives = 0
    for batch in LaneStreamer(paths, _config(labels=rule)).batches():
        for lane in range(3):
            rid = batch["recording_id"][lane].decode()
            if rid:
                expected = _hand_labels(
                    rid, int(batch["start"][lane]), int(batch["length"][lane]), ("sz",), min_overlap
                )
                assert batch["label"][lane] == expected, (rid, int(batch["start"][lane]))
                positives += expected == 1
    assert positives > 0


def test_recording_labels_scored_only_inside_the_scored_event(stores):
    paths, _ = stores
    rule = LabelRule(source="recording", scored_event="sz")
    for batch in LaneStreamer(paths, _config(labels=rule)).batches():
        for lane in range(3):
            rid = batch["recording_id"][lane].decode()
            if rid:
                index = [r[0] for r in RECORDINGS].index(rid)
                inside = _hand_labels(rid, int(batch["start"][lane]), int(batch["length"][lane]), ("sz",), 0.0)
                assert batch["label"][lane] == (index % 2 if inside else -1)


def test_windows_dominated_by_dropouts_are_invalid_but_stay_in_the_stream(stores):
    paths, arrays = stores
    seen_invalid = 0
    for batch in LaneStreamer(paths, _config(min_valid_fraction=0.5)).batches():
        for lane in range(3):
            rid = batch["recording_id"][lane].decode()
            if rid:
                start, length = int(batch["start"][lane]), int(batch["length"][lane])
                zero = ~np.any(arrays[rid][start : start + length] != 0, axis=1)
                assert batch["valid"][lane] == float(zero.sum() <= 0.5 * length)
                seen_invalid += batch["valid"][lane] == 0
    assert seen_invalid >= 2


def test_shards_are_disjoint_complete_and_equal_to_the_unsharded_lanes(stores):
    paths, _ = stores
    config = _config(lanes=4)
    full = _all(LaneStreamer(paths, config), epochs=2)
    shards = [_all(LaneStreamer(paths, config, shard_index=i, num_shards=2), epochs=2) for i in range(2)]
    assert len(shards[0]) == len(shards[1]) == len(full)
    recordings_of = []
    for index, shard in enumerate(shards):
        for batch, whole in zip(shard, full):
            for key in ("signal", "reset", "valid", "label", "recording_id", "start", "length"):
                np.testing.assert_array_equal(batch[key], whole[key][2 * index : 2 * index + 2])
        recordings_of.append({(int(b["epoch"]), rid) for b in shard for rid in b["recording_id"] if rid})
    assert not recordings_of[0] & recordings_of[1]
    assert len(recordings_of[0] | recordings_of[1]) == 2 * len(RECORDINGS)
    with pytest.raises(ValueError, match="equal share"):
        LaneStreamer(paths, _config(lanes=3), num_shards=2)


def test_resume_from_a_position_gives_the_identical_remaining_stream(stores):
    paths, _ = stores
    streamer = LaneStreamer(paths, _config())
    full = _all(streamer, epochs=3)
    steps0 = streamer.steps_in_epoch(0)
    for consumed in (1, steps0 - 1, steps0, steps0 + 2):
        last = full[consumed - 1]
        position = json.loads(json.dumps(streamer.position(int(last["epoch"]), int(last["step"]) + 1)))
        resumed = _all(LaneStreamer(paths, _config()), start=position, epochs=3)
        assert len(resumed) == len(full) - consumed
        for a, b in zip(resumed, full[consumed:]):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
    position = streamer.position(0, 2)
    lane = position["lanes"][0]
    assert lane["recording_id"] == streamer.recordings[streamer.schedule(0)[0][lane["recording"]]].id
    other_seed = LaneStreamer(paths, _config(seed=6))
    with pytest.raises(ValueError, match="does not match"):
        next(other_seed.batches(start=position))


def test_epoch_order_is_shuffled_by_seed_and_epoch(stores):
    paths, _ = stores
    streamer = LaneStreamer(paths, _config())
    orders = [streamer.order(epoch) for epoch in range(4)]
    assert all(sorted(order) == list(range(len(RECORDINGS))) for order in orders)
    assert len({tuple(order) for order in orders}) > 1
    assert LaneStreamer(paths, _config()).order(2) == orders[2]


def test_normalisation_stats_equal_numpy_over_the_valid_training_samples(stores, tmp_path):
    paths, arrays = stores
    train = paths[:4]
    stats = compute_channel_stats(train, block_samples=97)
    valid = []
    for path in train:
        with StoreReader(path) as store:
            valid.append(store.read(0, store.n_samples)[store.read_valid(0, store.n_samples)])
    reference = np.concatenate(valid).astype(np.float64)
    np.testing.assert_allclose(stats.mean, reference.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(stats.std, reference.std(axis=0), rtol=1e-10)
    assert stats.count == len(reference)
    loaded = ChannelStats.load(stats.save(tmp_path / "stats.json"))
    np.testing.assert_array_equal(loaded.mean, stats.mean)

    batch = next(LaneStreamer(paths, _config(), stats).batches())
    raw = next(LaneStreamer(paths, _config()).batches())
    lane = int(np.argmax(raw["start"] >= 0))
    length = int(raw["length"][lane])
    expected = (raw["signal"][lane, CONTEXT : CONTEXT + length] - stats.mean) / stats.std
    np.testing.assert_allclose(batch["signal"][lane, CONTEXT : CONTEXT + length], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(batch["signal"][lane, :CONTEXT], 0)  # recording start: zeros, not -mean/std


def _spy_on_reads(monkeypatch) -> list[tuple]:
    """Record every StoreReader read and read-ahead, in order: (kind, file name, start, stop, out)."""
    events = []
    read, read_ahead = StoreReader.read, StoreReader.read_ahead

    def spy_read(self, start, stop, **kw):
        events.append(("read", self.path.name, start, stop, kw.get("out")))
        return read(self, start, stop, **kw)

    def spy_ahead(self, start, stop):
        events.append(("ahead", self.path.name, start, stop, None))
        return read_ahead(self, start, stop)

    monkeypatch.setattr(StoreReader, "read", spy_read)
    monkeypatch.setattr(StoreReader, "read_ahead", spy_ahead)
    return events


def test_each_window_is_read_once_with_its_context_straight_into_its_batch(stores, monkeypatch):
    paths, _ = stores
    events = _spy_on_reads(monkeypatch)
    batches = []
    for batch in LaneStreamer(paths, _config()).batches():
        reads = [e for e in events if e[0] == "read"]
        events.clear()
        batches.append((batch, reads))
    for batch, reads in batches:
        expected = set()
        for lane in range(3):
            start = int(batch["start"][lane])
            if start >= 0:
                expected.add(
                    (
                        batch["recording_id"][lane].decode() + ".h5",
                        max(0, start - CONTEXT),
                        start + int(batch["length"][lane]),
                    )
                )
        assert sorted(r[1:4] for r in reads) == sorted(expected)
        for read in reads:  # into the batch's own memory: no intermediate buffer
            assert read[4] is not None and np.shares_memory(read[4], batch["signal"])


def test_every_read_was_requested_ahead_from_the_os_in_large_blocks(stores, monkeypatch):
    """Reads come from ranges the OS was asked to read ahead, each at least half a block long
    (or to the recording's end); only each lane's first window is asked for just before it is read."""
    paths, arrays = stores
    events = _spy_on_reads(monkeypatch)
    config = _config(block_samples=450)
    _all(LaneStreamer(paths, config))
    lengths = {rid + ".h5": len(x) for rid, x in arrays.items()}
    requested = {name: np.zeros(n, bool) for name, n in lengths.items()}
    just_in_time = 0
    for index, (kind, name, start, stop, _) in enumerate(events):
        if kind == "ahead":
            assert stop - start >= config.block_samples // 2 or stop == lengths[name]
            requested[name][start:stop] = True
            continue
        assert requested[name][start:stop].all(), f"read {name} [{start}, {stop}) was not all requested ahead"
        previous = events[index - 1]
        just_in_time += previous[0] == "ahead" and previous[1] == name and previous[2] <= start < previous[3]
    assert just_in_time <= config.lanes
    assert sum(e[0] == "read" for e in events) > 2 * config.lanes


@pytest.mark.parametrize("chunk_samples", [256, 4096])
def test_reads_into_a_buffer_equal_hdf5_reads_across_chunk_boundaries(tmp_path, chunk_samples):
    signal = np.random.default_rng(0).standard_normal((3000, 5)).astype(np.float32)
    path = write_store(
        Recording(signal, SFREQ, tuple("abcde")),
        tmp_path / "r.h5",
        recording_id="r",
        source_sha256="0" * 64,
        chunk_samples=chunk_samples,
    )
    buffer = np.full((3000, 5), np.nan, np.float32)
    with StoreReader(path) as store:
        for start, stop in [(0, 3000), (255, 257), (100, 2900), (2999, 3000), (512, 512)]:
            got = store.read(start, stop, out=buffer[: stop - start])
            assert got.base is buffer or got is buffer
            np.testing.assert_array_equal(got, signal[start:stop])
        with pytest.raises(ValueError, match="out must be"):
            store.read(0, 10, out=np.empty((10, 4), np.float32))


@pytest.mark.parametrize("chunk_samples", [256, 4096])
def test_read_ahead_advises_exactly_the_bytes_of_the_range_in_small_pieces(tmp_path, monkeypatch, chunk_samples):
    import h5py

    from eegseq.data import store as store_module

    signal = np.arange(3000 * 2, dtype=np.float32).reshape(3000, 2)
    path = write_store(
        Recording(signal, SFREQ, ("a", "b")),
        tmp_path / "r.h5",
        recording_id="r",
        source_sha256="0" * 64,
        chunk_samples=chunk_samples,
    )
    with h5py.File(path, "r") as f:  # reference: every chunk's first row and file offset, from HDF5's index
        data = f["signal"]
        chunks = [data.id.get_chunk_info(i) for i in range(data.id.get_num_chunks())]
    monkeypatch.setattr(store_module, "READ_AHEAD_PIECE_BYTES", 1000)
    advised = []
    monkeypatch.setattr("os.posix_fadvise", lambda fd, offset, length, advice: advised.append((offset, length)))
    with StoreReader(path) as store:
        for start, stop in [(100, 2900), (255, 257), (5, 5)]:
            advised.clear()
            store.read_ahead(start, stop)
            expected = {
                c.byte_offset + (row - c.chunk_offset[0]) * 8 + byte
                for c in chunks
                for row in range(max(start, c.chunk_offset[0]), min(stop, c.chunk_offset[0] + chunk_samples))
                for byte in range(8)
            }
            got = [byte for offset, length in advised for byte in range(offset, offset + length)]
            assert len(got) == len(set(got)) and set(got) == expected
            assert all(length <= 1000 for _, length in advised)
        with pytest.raises(IndexError):
            store.read_ahead(0, 3001)


def test_batches_kept_by_the_consumer_are_never_overwritten(stores):
    """The streamer recycles batch buffers; one the consumer still holds, even through a view
    only, must stay untouched."""
    paths, _ = stores
    expected = [b["signal"].copy() for b in LaneStreamer(paths, _config()).batches()]
    held = []
    for index, batch in enumerate(LaneStreamer(paths, _config()).batches()):
        if index % 2 == 0:
            held.append((index, batch["signal"][1:]))  # a view: the batch dict itself is dropped
        else:
            held.append((index, None))
    for index, view in held:
        if view is not None:
            np.testing.assert_array_equal(view, expected[index][1:])


def test_grouped_normalisation_equals_the_per_channel_formula():
    rng = np.random.default_rng(3)
    stats = ChannelStats(("a", "b", "c"), np.array([1.0, -2.0, 0.5]), np.array([2.0, 0.5, 0.0]), 10)
    for rows in (5, 1024, 2500):  # below, at and past one group of rows, with a remainder
        signal = rng.standard_normal((rows, 3)).astype(np.float32) * 10
        expected = (signal.astype(np.float64) - stats.mean) / np.maximum(stats.std, 1e-6)
        np.testing.assert_allclose(stats.apply(signal), expected, rtol=1e-6)
        in_place = signal.copy()
        assert stats.apply(in_place, out=in_place) is in_place
        np.testing.assert_allclose(in_place, expected, rtol=1e-6)
        strided = np.asfortranarray(signal)  # not C-contiguous: the plain broadcast
        np.testing.assert_allclose(stats.apply(strided), expected, rtol=1e-6)


@pytest.mark.parametrize("steps_per_group", [2, 3, 7])
def test_groups_of_steps_equal_the_batches_one_by_one(stores, steps_per_group):
    """Groups fill several steps of a lane per call (and cross recordings inside a group); one-step
    batches are checked sample by sample against the recordings above. Two epochs from a
    position inside the first."""
    paths, _ = stores
    streamer = LaneStreamer(paths, _config())
    position = streamer.position(0, 2)
    expected = _all(streamer, start=position, epochs=2)
    groups = list(streamer.batch_groups(start=position, epochs=2, steps_per_group=steps_per_group))
    assert all(len(g["step"]) <= steps_per_group for g in groups)
    assert all(len(set(g["epoch"].tolist())) == 1 for g in groups)  # a group never spans two epochs
    got = [{key: value[i] for key, value in g.items()} for g in groups for i in range(len(g["step"]))]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        for key in b:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# one step per group, and three: 4 lanes x (context + window) samples x 3 channels x float32 each
@pytest.mark.parametrize("group_bytes", [1, 3 * 4 * (CONTEXT + WINDOW) * 3 * 4])
def test_tf_dataset_yields_the_same_batches_and_shards_by_input_context(stores, group_bytes):
    tf = pytest.importorskip("tensorflow")
    from eegseq.data.tfdata import dataset_fn, make_dataset

    paths, _ = stores
    streamer = LaneStreamer(paths, _config(lanes=4))
    expected = _all(streamer)
    # Steps are views of recycled group buffers: tensors still held once the stream has run on
    # (and reused those buffers) must be intact.
    held = list(make_dataset(streamer, group_bytes=group_bytes))
    assert len(held) == len(expected)
    for a, b in zip(held, expected):
        for key in b:
            np.testing.assert_array_equal(a[key].numpy(), b[key])
    # 4 replicas fed by 2 input pipelines: pipeline 1 feeds replicas 2 and 3, one lane each, alternating
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=4)
    got = list(dataset_fn(paths, _config(lanes=4))(context).as_numpy_iterator())
    assert len(got) == 2 * len(expected)
    for step, whole in enumerate(expected):
        for replica in (2, 3):
            part = got[2 * step + replica - 2]
            np.testing.assert_array_equal(part["signal"], whole["signal"][replica : replica + 1])
            np.testing.assert_array_equal(part["recording_id"], whole["recording_id"][replica : replica + 1])


def test_window_labels_match_the_streamed_labels(tmp_path):
    """The label table read without samples equals the labels the stream hands out."""
    from eegseq.data.recording import Event, Recording
    from eegseq.data.store import write_store
    from eegseq.data.streamer import LaneStreamer, StreamConfig

    signal = np.ones((1000, 2), np.float32)
    recording = Recording(signal, 100.0, ("a", "b"), events=[Event(2.5, 3.0, "sz")])
    path = write_store(recording, tmp_path / "r.h5", recording_id="r", source_sha256="0" * 64)
    streamer = LaneStreamer([path], StreamConfig(lanes=1, window=200, block_samples=1000))
    streamed = [int(b["label"][0]) for b in streamer.batches(epochs=1)]
    # windows of 2 s: [0,2) no, [2,4) overlaps 2.5-5.5, [4,6) yes, [6,8) no, [8,10) no
    assert streamer.window_labels(0).tolist() == streamed == [0, 1, 1, 0, 0]


def test_produced_ahead_runs_ahead_in_order_passes_errors_and_closes_its_source():
    import threading
    import time

    from eegseq.data.tfdata import produced_ahead

    made, closed, threads = [], threading.Event(), set()

    def source(n, fail_at=None):
        try:
            for i in range(n):
                if i == fail_at:
                    raise OSError(f"item {i} unreadable")
                threads.add(threading.current_thread().name)
                made.append(i)
                yield i
        finally:
            closed.set()

    ahead = produced_ahead(source(10), depth=2)
    assert next(ahead) == 0
    deadline = time.monotonic() + 10
    while len(made) < 3 and time.monotonic() < deadline:  # items 1 and 2 are made without being asked for
        time.sleep(0.01)
    assert made == [0, 1, 2]
    assert list(ahead) == list(range(1, 10)) and closed.is_set()
    assert threads == {n for n in threads if n.startswith("eegseq-stream")}  # made by the worker

    made.clear()
    closed.clear()
    ahead = produced_ahead(source(10, fail_at=4), depth=2)
    assert [next(ahead) for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(OSError, match="item 4"):
        next(ahead)

    made.clear()
    closed.clear()
    ahead = produced_ahead(source(1000), depth=2)
    next(ahead)
    ahead.close()  # the consumer stops early: the worker stops, the source is closed
    assert closed.is_set() and len(made) < 1000
