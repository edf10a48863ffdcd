"""The ``compare`` section of a job config: variants, rates, seeds, shards, bootstrap."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eegseq.models import DropoutConfig

NONE = "none"
BUILTIN = "tf_keras_builtin"
RESERVED = (NONE, BUILTIN)


class VariantConfig(BaseModel):
    """One variant: a name and a dropout setting (a preset plus explicit scope, scaling, tied, ...).

    ``rates`` overrides ``compare.rates`` for this variant. The rate itself comes from the sweep.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    dropout: DropoutConfig
    rates: list[float] | None = None

    @field_validator("rates")
    @classmethod
    def _rates_in_range(cls, rates):
        return _check_rates(rates)


def _check_rates(rates: list[float] | None) -> list[float] | None:
    if rates is not None:
        if not rates:
            raise ValueError("rates must not be empty")
        bad = [r for r in rates if not 0 < r < 1]
        if bad:
            raise ValueError(f"rates {bad} are not valid; expected drop rates in (0, 1)")
        if len(set(rates)) != len(rates):
            raise ValueError(f"rates {rates} repeat a value")
    return rates


class CompareConfig(BaseModel):
    """``eegseq compare``: which variants, rates and seeds to train, and how to slice the grid.

    ``variants`` items are preset names (``semeniuta``) or explicit settings
    (``{name: moon_expectation, dropout: {preset: moon, scaling: expectation}, rates: [0.1]}``).
    ``none`` and ``tf_keras_builtin`` (the stock tf-keras layer with ``recurrent_dropout``) are
    always included.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    variants: list[str | VariantConfig] = ["keras", "gal", "semeniuta", "semeniuta_seq", "moon", "zoneout"]
    rates: list[float] = Field([0.25], description="drop rates swept for every variant (zoneout: both rates)")
    seeds: int | list[int] = Field(3, description="K seeds (train.seed + 0..K-1) or an explicit list")
    shards: int | None = Field(
        None, ge=1, description="shard count when the index comes from JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID"
    )
    bootstrap_resamples: int = Field(1000, ge=1, description="paired bootstrap resamples over seeds x recordings")
    bootstrap_seed: int = 0
    confidence_level: float = Field(0.95, gt=0, lt=1)

    @field_validator("rates")
    @classmethod
    def _rates_in_range(cls, rates):
        return _check_rates(rates)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds):
        if isinstance(seeds, int) and seeds < 1:
            raise ValueError(f"seeds={seeds} is not valid; expected a count >= 1 or a list of seeds")
        if isinstance(seeds, list) and (not seeds or len(set(seeds)) != len(seeds)):
            raise ValueError(f"seeds={seeds} is not valid; expected a non-empty list without repeats")
        return seeds

    @model_validator(mode="after")
    def _distinct_names(self):
        names = [variant.name for variant in self.resolved_variants()]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"compare.variants: names {repeated} appear more than once")
        return self

    def resolved_variants(self) -> list[VariantConfig]:
        """``none``, ``tf_keras_builtin``, then the configured variants, each with a name and a dropout."""
        fixed = [
            VariantConfig(name=NONE, dropout=DropoutConfig(preset=NONE)),
            # The stock layer's recurrent_dropout is Keras' documented scheme: ``keras`` names it.
            VariantConfig(name=BUILTIN, dropout=DropoutConfig(preset="keras")),
        ]
        listed = []
        for item in self.variants:
            if isinstance(item, str):
                if item in RESERVED:
                    continue  # always included
                try:
                    item = VariantConfig(name=item, dropout=DropoutConfig(preset=item))
                except ValueError as error:
                    raise ValueError(f"compare.variants: {item!r} is not a preset: {error}") from None
            elif item.name in RESERVED:
                raise ValueError(f"compare.variants: the name {item.name!r} is reserved for the built-in baseline")
            listed.append(item)
        return fixed + listed

    def seed_list(self, base: int) -> list[int]:
        return list(self.seeds) if isinstance(self.seeds, list) else [base + k for k in range(self.seeds)]
