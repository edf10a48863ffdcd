"""The run plan: conversions to samples, the model's context, lanes per replica, one error per check."""

from pathlib import Path

import numpy as np
import pytest

from eegseq.data.manifest import ManifestRow
from eegseq.data.normalisation import ChannelStats
from eegseq.pipelines.config import load_config
from eegseq.pipelines.ingest import PreparedData
from eegseq.pipelines.plan import PlanError, RunPlan

FRONTEND = "[{filters: 4, kernel_size: 7, stride: 4}, {filters: 4, kernel_size: 5, stride: 5}]"


def _data(rates=(256.0, 256.0), splits=("train", "val")) -> PreparedData:
    rows = tuple(
        ManifestRow(id=f"r{i}", path=f"r{i}.h5", sha256="0" * 64, subject="s", group="g", split=split, sfreq=rate)
        for i, (rate, split) in enumerate(zip(rates, splits))
    )
    stats = ChannelStats(("a",), np.zeros(1), np.ones(1), 1)
    return PreparedData(Path("/store"), Path("/store/manifest.csv"), rows, stats)


def _config(*overrides):
    return load_config(None, [f"model.frontend={FRONTEND}", *overrides])


def test_seconds_become_samples_once_with_the_model_context():
    config = _config("stream.window_seconds=2.5", "stream.block_seconds=10.3", "stream.lanes=6", "train.seed=4")
    plan = RunPlan.build(config, _data(), replicas=3)
    # by hand: 2.5 s x 256 Hz = 640 samples; 10.3 x 256 = 2636.8 -> 2637 (rounded, as the window)
    assert (plan.sfreq, plan.stream.window, plan.stream.block_samples) == (256.0, 640, 2637)
    # receptive field 1 + 6 + 4 x 4 = 23; context 22 rounded up to the stride 20 -> 40
    assert (plan.geometry.receptive_field, plan.geometry.stride, plan.geometry.context) == (23, 20, 40)
    assert plan.stream.context == 40 and plan.stream.seed == 4
    assert plan.window_seconds == 2.5
    assert plan.lanes_per_replica == 2
    assert [list(plan.replica_lanes(r)) for r in range(3)] == [[0, 1], [2, 3], [4, 5]]
    assert [row.id for row in plan.rows("val")] == ["r1"]
    assert plan.stores("train") == [Path("/store/r0.h5")]


def test_each_check_names_the_setting():
    with pytest.raises(PlanError, match=r"stream.window_seconds=2.5 is 640 samples .* total stride 30"):
        RunPlan.build(
            _config("stream.window_seconds=2.5", "model.frontend=[{filters: 4, kernel_size: 3, stride: 30}]"), _data()
        )
    with pytest.raises(ValueError, match=r"stream.lanes=5 cannot be split into equal shares over 2 replicas"):
        RunPlan.build(_config("stream.lanes=5", "stream.window_seconds=2.5"), _data(), replicas=2)
    with pytest.raises(PlanError, match=r"different sampling rates \[200.0, 256.0\]"):
        RunPlan.build(_config(), _data(rates=(200.0, 256.0)))
    plan = RunPlan.build(_config("stream.window_seconds=2.5"), _data(splits=("train", "train")))
    with pytest.raises(ValueError, match=r"split 'val' does not exist in .*manifest.csv .*; it has \['train'\]"):
        plan.validate()
