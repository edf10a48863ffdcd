"""Every valid scheme x scope x scaling, training and inference, against the NumPy reference."""

import zlib

import numpy as np
import pytest
from dropout_settings import IDS, SETTINGS, B, D, T, U, explicit_masks, inference_masks
from numpy_reference import run

from eegseq.rnn import DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_layer_matches_numpy_equations(kind, training, settings):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{training}{sorted(settings.items())}".encode()))
    Cell = DropoutLSTMCell if kind == "lstm" else DropoutGRUCell
    # jit_compile=False here; test_engines.py proves the XLA and fused engines equal this one.
    layer = StreamRNN(
        Cell(U, DropoutSpec.create(**settings)),
        return_sequences=True,
        return_state=True,
        jit_compile=False,
        use_fused=False,
    )
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    layer(x)
    kernel, recurrent_kernel, bias = (w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights())
    layer.set_weights([kernel, recurrent_kernel, bias])
    h0 = rng.standard_normal((B, U)).astype(np.float32)
    c0 = rng.standard_normal((B, U)).astype(np.float32) if kind == "lstm" else None
    initial = [h0, c0] if kind == "lstm" else [h0]

    masks = explicit_masks(kind, settings, rng) if training else inference_masks(kind, settings)
    result = layer(x, initial_state=initial, masks=masks if training else None, training=training)
    expected, h_T, c_T = run(
        kind, x, kernel, recurrent_kernel, bias, h0, c0, masks, settings["scheme"], settings["scope"], settings["tied"]
    )
    np.testing.assert_allclose(result[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result[1].numpy(), h_T, rtol=1e-5, atol=1e-5)
    if kind == "lstm":
        np.testing.assert_allclose(result[2].numpy(), c_T, rtol=1e-5, atol=1e-5)
