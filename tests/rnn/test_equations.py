"""Every valid scheme x scope x scaling, training and inference, against the NumPy reference."""

import itertools
import zlib

import numpy as np
import pytest

from eegseq.rnn import SCALINGS, SCHEMES, SCOPES, DropoutGRUCell, DropoutLSTMCell, DropoutSpec, StreamRNN
from numpy_reference import inference_constant, run

B, T, D, U = 3, 6, 4, 5
RATE, ZONE_H, ZONE_C, INPUT_RATE = 0.3, 0.2, 0.4, 0.25


def _valid_settings():
    for scheme, scope, scaling, tied in itertools.product(SCHEMES, SCOPES, SCALINGS, (False, True)):
        settings = dict(scheme=scheme, scope=scope, scaling=scaling, tied=tied, input_rate=INPUT_RATE)
        if scheme == "zoneout":
            settings.update(zoneout_h=ZONE_H, zoneout_c=ZONE_C)
        elif scheme != "none":
            settings["rate"] = RATE
        try:
            DropoutSpec(**settings)
        except ValueError:
            continue
        yield settings


SETTINGS = list(_valid_settings())
IDS = ["{scheme}-{scope}-{scaling}{t}".format(t="-tied" if s["tied"] else "", **s) for s in SETTINGS]


def _explicit_masks(kind, settings, rng):
    """Arbitrary positive masks in the contract's shapes: any misplaced multiplication shows."""
    gates = 4 if kind == "lstm" else 3
    lane = (B, T) if settings["scope"] == "step" else (B,)

    def draw(*shape):
        return rng.uniform(0.2, 2.0, size=shape).astype(np.float32)

    masks = {"input": draw(B, D)}
    scheme = settings["scheme"]
    if scheme == "gal":
        masks["recurrent"] = draw(*lane, U) if settings["tied"] else draw(*lane, gates, U)
    elif scheme == "semeniuta":
        masks["update"] = draw(*lane, U)
    elif scheme == "moon":
        masks["memory"] = draw(*lane, U)
    elif scheme == "zoneout":
        masks["zoneout_h"] = rng.integers(0, 2, size=(*lane, U)).astype(np.float32)
        if kind == "lstm":
            masks["zoneout_c"] = rng.integers(0, 2, size=(*lane, U)).astype(np.float32)
    elif scheme == "weight_drop":
        masks["weight"] = draw(U, gates * U)
    return masks


def _inference_masks(kind, settings):
    """The contract's scaling table, applied by hand."""
    scheme, scaling = settings["scheme"], settings["scaling"]
    masks = {"input": inference_constant("input", scaling, INPUT_RATE)}
    names = {"gal": ["recurrent"], "semeniuta": ["update"], "moon": ["memory"], "weight_drop": ["weight"]}
    for name in names.get(scheme, []):
        masks[name] = inference_constant(scheme, scaling, RATE)
    if scheme == "zoneout":
        masks["zoneout_h"] = ZONE_H
        if kind == "lstm":
            masks["zoneout_c"] = ZONE_C
    return masks


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_layer_matches_numpy_equations(kind, training, settings):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{training}{sorted(settings.items())}".encode()))
    Cell = DropoutLSTMCell if kind == "lstm" else DropoutGRUCell
    # jit_compile=False here; test_engines.py proves the XLA and fused engines equal this one.
    layer = StreamRNN(Cell(U, **settings), return_sequences=True, return_state=True, jit_compile=False, use_fused=False)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    layer(x)
    kernel, recurrent_kernel, bias = (w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights())
    layer.set_weights([kernel, recurrent_kernel, bias])
    h0 = rng.standard_normal((B, U)).astype(np.float32)
    c0 = rng.standard_normal((B, U)).astype(np.float32) if kind == "lstm" else None
    initial = [h0, c0] if kind == "lstm" else [h0]

    masks = _explicit_masks(kind, settings, rng) if training else _inference_masks(kind, settings)
    result = layer(x, initial_state=initial, masks=masks if training else None, training=training)
    expected, h_T, c_T = run(
        kind, x, kernel, recurrent_kernel, bias, h0, c0, masks, settings["scheme"], settings["scope"], settings["tied"]
    )
    np.testing.assert_allclose(result[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result[1].numpy(), h_T, rtol=1e-5, atol=1e-5)
    if kind == "lstm":
        np.testing.assert_allclose(result[2].numpy(), c_T, rtol=1e-5, atol=1e-5)
