"""What a recurrent-dropout setting means: scheme, scope, scaling, rates, and the named presets.

The semantics (equations, scopes, scalings, presets) are described in ``docs/recurrent-dropout.md``.
A :class:`DropoutSpec` is a validated, immutable value: every invalid combination is refused when
it is built, with an error that names the option and the allowed values. It is the one place where
dropout settings are declared and preset names are checked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SCHEMES = ("none", "gal", "semeniuta", "moon", "zoneout", "weight_drop")
SCOPES = ("step", "window", "recording")
SCALINGS = ("inverted", "expectation", "none")

# preset name -> (scheme, tied, scope, scaling); "tied" only matters for `gal`.
PRESETS: dict[str, tuple[str, bool, str, str]] = {
    "none": ("none", False, "window", "inverted"),
    "keras": ("gal", False, "window", "inverted"),
    "gal": ("gal", False, "recording", "inverted"),
    "gal_tied": ("gal", True, "recording", "inverted"),
    "semeniuta": ("semeniuta", False, "step", "inverted"),
    "semeniuta_seq": ("semeniuta", False, "recording", "inverted"),
    "moon": ("moon", False, "recording", "inverted"),
    "zoneout": ("zoneout", False, "step", "expectation"),
    "weight_drop": ("weight_drop", False, "window", "inverted"),
}


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{option}={value!r} is not valid; expected one of {', '.join(map(repr, allowed))}")
    return value


def _unit_rate(option: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{option}={value!r} is not valid; expected a drop rate in [0, 1)")
    return value


@dataclass(frozen=True)
class MaskRule:
    """How one mask is drawn and what it equals outside training.

    Attributes:
        p_one: probability that an element is "on" (the keep rate ``q`` for dropout masks,
            the zoneout rate for zoneout masks, where 1 means "keep the old value").
        train_on_value: value of an "on" element in training (``1/q`` under inverted scaling).
        inference_value: the constant the mask is replaced by at inference.
    """

    p_one: float
    train_on_value: float
    inference_value: float


@dataclass(frozen=True)
class DropoutSpec:
    """A validated recurrent-dropout setting.

    Attributes:
        scheme: where the mask goes, one of :data:`SCHEMES`.
        rate: drop rate ``p`` of the scheme's mask, in [0, 1). Ignored by ``none`` and ``zoneout``.
        scope: how long a mask lives, one of :data:`SCOPES`.
        scaling: how masks are compensated, one of :data:`SCALINGS`.
        tied: ``gal`` only: one mask for all gates (True) or one per gate (False).
        zoneout_h: ``zoneout`` only: probability of keeping each unit's old ``h``.
        zoneout_c: ``zoneout`` only (LSTM): probability of keeping each unit's old ``c``.
        input_rate: variational dropout on the inputs ``x_t`` (one mask per lane, reused at every
            step), independent of the scheme; 0 disables it.
    """

    scheme: str = "none"
    rate: float = 0.0
    scope: str = "window"
    scaling: str = "inverted"
    tied: bool = False
    zoneout_h: float = 0.0
    zoneout_c: float = 0.0
    input_rate: float = 0.0

    def __post_init__(self) -> None:
        _choice("scheme", self.scheme, SCHEMES)
        _choice("scope", self.scope, SCOPES)
        _choice("scaling", self.scaling, SCALINGS)
        for name in ("rate", "zoneout_h", "zoneout_c", "input_rate"):
            object.__setattr__(self, name, _unit_rate(name, getattr(self, name)))
        object.__setattr__(self, "tied", bool(self.tied))
        if self.scheme == "weight_drop" and self.scope != "window":
            raise ValueError(
                f"scope={self.scope!r} is not valid with scheme='weight_drop': its weight mask is shared "
                "by all lanes, so the only allowed scope is 'window'"
            )
        if self.scheme == "zoneout" and self.scaling != "expectation":
            raise ValueError(
                f"scaling={self.scaling!r} is not valid with scheme='zoneout': zoneout masks are never "
                "rescaled and use their expectation at inference, so the only allowed scaling is 'expectation'"
            )
        if self.tied and self.scheme != "gal":
            raise ValueError(f"tied=True is only valid with scheme='gal', not scheme={self.scheme!r}")
        if self.scheme != "zoneout" and (self.zoneout_h or self.zoneout_c):
            raise ValueError(f"zoneout_h/zoneout_c are only valid with scheme='zoneout', not scheme={self.scheme!r}")
        if self.scheme in ("none", "zoneout") and self.rate:
            raise ValueError(
                f"rate={self.rate!r} is not valid with scheme={self.scheme!r}: "
                + ("it has no mask" if self.scheme == "none" else "give zoneout_h and zoneout_c instead")
            )

    @classmethod
    def create(cls, preset: str | None = None, **settings) -> DropoutSpec:
        """Build a spec from a named preset, overridden by explicit settings.

        ``settings`` are the fields of :class:`DropoutSpec`; ``None`` values are ignored, so callers
        can forward optional arguments. ``rate`` follows the scheme, so one rate can be given with
        any preset: under ``zoneout`` it sets both ``zoneout_h`` and ``zoneout_c`` unless they are
        given explicitly; under ``none`` (no mask) it is dropped.
        """
        unknown = set(settings) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(
                f"unknown dropout option(s) {sorted(unknown)}; expected {[f.name for f in dataclasses.fields(cls)]}"
            )
        given = {k: v for k, v in settings.items() if v is not None}
        base: dict = {}
        if preset is not None:
            scheme, tied, scope, scaling = PRESETS[_choice("preset", preset, tuple(PRESETS))]
            base = {"scheme": scheme, "tied": tied, "scope": scope, "scaling": scaling}
        scheme = given.get("scheme", base.get("scheme", "none"))
        if scheme == "zoneout" and "rate" in given:
            rate = given.pop("rate")
            given.setdefault("zoneout_h", rate)
            given.setdefault("zoneout_c", rate)
        elif scheme == "none":
            given.pop("rate", None)
        if "scheme" in given and "scope" not in given and preset is None and scheme in PRESETS:
            # Each scheme's own preset gives its natural scope/scaling when only the scheme is named.
            _, _, scope, scaling = PRESETS[scheme]
            base.update(scope=scope, scaling=given.get("scaling", scaling))
        return cls(**{**base, **given})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def dropout_rule(self, rate: float) -> MaskRule:
        """The rule of a dropout mask with drop rate ``rate`` under this spec's scaling."""
        q = 1.0 - rate
        return MaskRule(
            p_one=q,
            train_on_value=1.0 / q if self.scaling == "inverted" else 1.0,
            inference_value=q if self.scaling == "expectation" else 1.0,
        )

    @staticmethod
    def zoneout_rule(rate: float) -> MaskRule:
        """Zoneout keeps the old value with probability ``rate``; at inference ``d`` is its mean."""
        return MaskRule(p_one=rate, train_on_value=1.0, inference_value=rate)
