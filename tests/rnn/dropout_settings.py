"""Every valid dropout setting and masks for it, shared by the equation and engine tests."""

import itertools

import numpy as np
from numpy_reference import inference_constant

from eegseq.rnn import SCALINGS, SCHEMES, SCOPES, DropoutSpec

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


def explicit_masks(kind, settings, rng):
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


def inference_masks(kind, settings):
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
