"""``diagnose_run`` on a trained smoke run: the files and the schema that ``compare`` reads."""

import json

import numpy as np
import pytest
from smoke_cli import SMOKE

from eegseq.data.streamer import LaneStreamer
from eegseq.models import StreamModel
from eegseq.pipelines.config import load_config, stream_config
from eegseq.pipelines.diagnose import SCHEMA, diagnose_run, state_scale
from eegseq.pipelines.ingest import run_ingest


@pytest.fixture(scope="module")
def diagnosed(uninterrupted_run):
    return diagnose_run(uninterrupted_run)


def test_diagnostics_files_and_schema(diagnosed, uninterrupted_run):
    report = json.loads((diagnosed / "diagnostics.json").read_text())
    assert report["schema"] == SCHEMA
    assert report["stability"] == {"stopped": False, "reason": None, "step": None, "steps_completed": 20}
    assert report["run"]["implementation"] == "eegseq" and report["run"]["window_steps"] == 20
    assert len(report["run"]["recordings"]) == 2
    for layer in ("rnn_0", "rnn_1"):
        entry = report["state_scale"]["layers"][layer]
        assert len(entry["time_s"]) == len(entry["h_inference"]) == len(entry["c_training"]) == 5
    for name in ("state_scale.csv", "state_scale.png"):
        assert (diagnosed / name).stat().st_size > 0


def test_state_scale_without_dropout_is_the_same_in_both_modes(smoke_data):
    """No masks at all (no dropout between layers either): training mode is inference mode, ratio 1."""
    config = load_config(
        SMOKE, [f"data.root={smoke_data}", "model.rnn.dropout.preset=none", "model.rnn.between_dropout=0"]
    )
    data = run_ingest(config.data, progress=False)
    model = StreamModel.build(config.model)
    stores = data.stores("test")
    stream = stream_config(config, data.sfreq, model.context).model_copy(update={"lanes": len(stores)})
    layers = state_scale(model, LaneStreamer(stores, stream, data.stats), 0, data.sfreq)["layers"]
    for entry in layers.values():
        np.testing.assert_allclose(entry["h_training"], entry["h_inference"], rtol=1e-6)
        assert entry["h_ratio"] == pytest.approx(1.0, abs=1e-6)
