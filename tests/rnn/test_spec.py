"""Presets resolve as the contract's table says; nonsense is refused at construction, naming the option."""

import pytest

from eegseq.rnn import PRESETS, DropoutGRUCell, DropoutLSTMCell, DropoutSpec

CONTRACT_PRESETS = {  # docs/recurrent-dropout.md, "Scopes, scalings, presets"
    "keras": ("gal", False, "window", "inverted"),
    "gal": ("gal", False, "recording", "inverted"),
    "gal_tied": ("gal", True, "recording", "inverted"),
    "semeniuta": ("semeniuta", False, "step", "inverted"),
    "semeniuta_seq": ("semeniuta", False, "recording", "inverted"),
    "moon": ("moon", False, "recording", "inverted"),
    "zoneout": ("zoneout", False, "step", "expectation"),
    "weight_drop": ("weight_drop", False, "window", "inverted"),
}


@pytest.mark.parametrize("preset", CONTRACT_PRESETS)
def test_presets_match_contract(preset):
    spec = DropoutSpec.create(preset, rate=0.2)
    assert (spec.scheme, spec.tied, spec.scope, spec.scaling) == CONTRACT_PRESETS[preset]
    assert set(CONTRACT_PRESETS) <= set(PRESETS)


def test_zoneout_rate_sets_both_unless_given():
    assert (DropoutSpec.create("zoneout", rate=0.1).zoneout_h, DropoutSpec.create("zoneout", rate=0.1).zoneout_c) == (
        0.1,
        0.1,
    )
    spec = DropoutSpec.create("zoneout", rate=0.1, zoneout_c=0.5)
    assert (spec.zoneout_h, spec.zoneout_c) == (0.1, 0.5)


def test_explicit_settings_override_preset():
    spec = DropoutSpec.create("gal", rate=0.3, scope="window", scaling="expectation")
    assert (spec.scheme, spec.scope, spec.scaling, spec.rate) == ("gal", "window", "expectation", 0.3)


@pytest.mark.parametrize(
    "settings, words",
    [
        (dict(scheme="weight_drop", rate=0.2, scope="recording"), ["scope='recording'", "'window'"]),
        (dict(scheme="weight_drop", rate=0.2, scope="step"), ["scope='step'", "'window'"]),
        (dict(scheme="gal", rate=1.0), ["rate=1.0", "[0, 1)"]),
        (dict(scheme="gal", rate=-0.1), ["rate=-0.1", "[0, 1)"]),
        (dict(scheme="gal", rate=0.1, input_rate=1.5), ["input_rate=1.5"]),
        (dict(scheme="variational", rate=0.1), ["scheme='variational'", "'gal'", "'semeniuta'"]),
        (dict(scheme="gal", rate=0.1, scope="sequence"), ["scope='sequence'", "'recording'"]),
        (dict(scheme="gal", rate=0.1, scaling="scaled"), ["scaling='scaled'", "'inverted'"]),
        (dict(scheme="zoneout", zoneout_h=0.1, scaling="inverted"), ["scaling='inverted'", "'expectation'"]),
        (dict(scheme="moon", rate=0.1, tied=True), ["tied=True"]),
        (dict(scheme="gal", rate=0.1, zoneout_h=0.2), ["zoneout_h"]),
    ],
)
def test_invalid_combinations_are_refused_with_named_option(settings, words):
    with pytest.raises(ValueError) as error:
        DropoutLSTMCell(8, DropoutSpec.create(**settings))
    for word in words:
        assert word in str(error.value)


def test_preset_none_takes_no_rate():
    assert DropoutSpec.create("none", rate=0.25) == DropoutSpec()
    with pytest.raises(ValueError, match="rate=0.25 is not valid with scheme='none'"):
        DropoutSpec(scheme="none", rate=0.25)  # only a preset's shared rate is dropped, not an explicit one


def test_unknown_preset_units_and_settings_refused():
    with pytest.raises(ValueError, match="preset='merity'.*'semeniuta'"):
        DropoutSpec.create("merity")
    with pytest.raises(ValueError, match="units=0"):
        DropoutGRUCell(0)
    with pytest.raises(TypeError, match="dropout='gal'.*DropoutSpec"):
        DropoutLSTMCell(4, "gal")
