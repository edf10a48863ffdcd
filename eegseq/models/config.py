"""Validated configuration of the stateful CNN -> stacked-RNN seizure model."""

from __future__ import annotations

import dataclasses
from typing import Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from eegseq.rnn import DropoutSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConvBlockConfig(_Strict):
    """One causal 1-D convolution of the front-end."""

    filters: int = Field(gt=0)
    kernel_size: int = Field(gt=0)
    stride: int = Field(default=1, gt=0)


class _DropoutConfigBase(_Strict):
    """What a dropout config does; its fields are :class:`~eegseq.rnn.DropoutSpec`'s (see below)."""

    @model_validator(mode="after")
    def _valid_spec(self):
        self.spec()  # raises ValueError naming the option (preset names included)
        return self

    def spec(self) -> DropoutSpec:
        """The resolved setting."""
        return DropoutSpec.create(**self.model_dump())


def _spec_fields() -> dict:
    """``preset`` plus DropoutSpec's fields, each optional (None keeps the preset's value); the scheme
    comes from the preset. The defaults: ``semeniuta`` at rate 0.25."""
    types = get_type_hints(DropoutSpec)
    fields = {"preset": (str, "semeniuta")}
    fields.update({f.name: (types[f.name] | None, None) for f in dataclasses.fields(DropoutSpec) if f.name != "scheme"})
    fields["rate"] = (float | None, 0.25)
    return fields


DropoutConfig = create_model(
    "DropoutConfig",
    __base__=_DropoutConfigBase,
    __module__=__name__,
    __doc__="A recurrent-dropout setting: a preset (``docs/recurrent-dropout.md``) and overrides of its fields.",
    **_spec_fields(),
)


class RNNLayerOverride(_Strict):
    """Per-layer changes to the stack's defaults (index in ``rnn.per_layer`` = layer index)."""

    cell: Literal["lstm", "gru"] | None = None
    units: int | None = Field(default=None, gt=0)
    dropout: DropoutConfig | None = None


class RNNStackConfig(_Strict):
    """N stacked recurrent layers: ``StreamRNN`` (``implementation="eegseq"``) or, as the baseline
    ``"tf_keras_builtin"``, the stock ``tf_keras`` LSTM/GRU, whose ``recurrent_dropout`` and ``dropout``
    take the dropout setting's ``rate`` and ``input_rate`` (its scheme, scope and scaling do not apply)."""

    implementation: Literal["eegseq", "tf_keras_builtin"] = "eegseq"
    layers: int = Field(default=2, gt=0)
    cell: Literal["lstm", "gru"] = "lstm"
    units: int = Field(default=64, gt=0)
    dropout: DropoutConfig = DropoutConfig()
    between_dropout: float = Field(
        default=0.1, ge=0.0, lt=1.0, description="input dropout of layers 1.. (unless their dropout sets input_rate)"
    )
    per_layer: list[RNNLayerOverride] = []
    chrono_max_steps: int | None = Field(
        default=None,
        ge=3,
        description="chrono initialisation of the memory gates' biases with time constants up to this many RNN "
        "steps (eegseq.rnn.ChronoBias); null: Keras' defaults (LSTM forget-gate bias 1)",
    )

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
