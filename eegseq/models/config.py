"""Validated configuration of the stateful CNN -> stacked-RNN seizure model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eegseq.rnn import PRESETS, DropoutSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConvBlockConfig(_Strict):
    """One causal 1-D convolution of the front-end."""

    filters: int = Field(gt=0)
    kernel_size: int = Field(gt=0)
    stride: int = Field(default=1, gt=0)


class DropoutConfig(_Strict):
    """A recurrent-dropout setting: a preset of ``recurrent-dropout.md`` and explicit overrides."""

    preset: str = "semeniuta"
    rate: float | None = 0.25
    scope: str | None = None
    scaling: str | None = None
    tied: bool | None = None
    zoneout_h: float | None = None
    zoneout_c: float | None = None
    input_rate: float | None = None

    @model_validator(mode="after")
    def _valid_spec(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset={self.preset!r} is not valid; expected one of {sorted(PRESETS)}")
        self.spec()  # raises ValueError naming the option
        return self

    def spec(self) -> DropoutSpec:
        settings = self.model_dump(exclude={"preset"})
        if self.preset == "none":
            settings["rate"] = None
        return DropoutSpec.create(self.preset, **settings)

    def cell_kwargs(self) -> dict:
        return self.spec().to_dict()


class RNNLayerOverride(_Strict):
    """Per-layer changes to the stack's defaults (index in ``rnn.per_layer`` = layer index)."""

    cell: Literal["lstm", "gru"] | None = None
    units: int | None = Field(default=None, gt=0)
    dropout: DropoutConfig | None = None


class RNNStackConfig(_Strict):
    """N stacked ``StreamRNN`` layers."""

    layers: int = Field(default=2, gt=0)
    cell: Literal["lstm", "gru"] = "lstm"
    units: int = Field(default=64, gt=0)
    dropout: DropoutConfig = DropoutConfig()
    between_dropout: float = Field(
        default=0.1, ge=0.0, lt=1.0, description="input dropout of layers 1.. (unless their dropout sets input_rate)"
    )
    per_layer: list[RNNLayerOverride] = []

    @model_validator(mode="after")
    def _overrides_fit(self):
        if len(self.per_layer) > self.layers:
            raise ValueError(f"per_layer has {len(self.per_layer)} entries but layers={self.layers}")
        return self

    def layer(self, index: int) -> tuple[str, int, DropoutConfig]:
        """(cell, units, dropout) of layer ``index``."""
        override = self.per_layer[index] if index < len(self.per_layer) else RNNLayerOverride()
        return override.cell or self.cell, override.units or self.units, override.dropout or self.dropout


class ModelConfig(_Strict):
    """The whole model. Defaults bring 400 Hz down to 5 Hz (strides 4 x 4 x 5)."""

    channels: int = Field(default=16, gt=0)
    frontend: list[ConvBlockConfig] = [
        ConvBlockConfig(filters=32, kernel_size=7, stride=4),
        ConvBlockConfig(filters=32, kernel_size=5, stride=4),
        ConvBlockConfig(filters=32, kernel_size=5, stride=5),
    ]
    # Per-timestep layer normalisation over filters discards the signal's amplitude, the main
    # evidence of a seizure on normalised EEG: off by default (measured on the synthetic default).
    normalization: Literal["layer", "none"] = "none"
    rnn: RNNStackConfig = RNNStackConfig()
    step_head: bool = False
    seed: int = 0
