"""The job configuration: one validated pydantic model per section, loaded from YAML with overrides.

Errors name the field path (``train.learning_rate: Input should be greater than 0``) and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eegseq.data.manifest import SplitSpec, resolve_in_root
from eegseq.data.streamer import LabelRule
from eegseq.data.synthetic import SyntheticSpec
from eegseq.evaluation.config import EvaluationConfig
from eegseq.models import ModelConfig
from eegseq.pipelines.compare_config import CompareConfig
from eegseq.pipelines.errors import Refused


class ConfigError(Refused, ValueError):
    """A job configuration that cannot be used; the message names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Where recordings come from and where their store goes.

    ``source="synthetic"`` generates the embedded default dataset from ``synthetic``;
    ``manifest`` / ``kaggle2016`` / ``chbmit`` / ``tusz`` / ``bids`` read ``path`` (a manifest CSV or a
    dataset folder, relative to ``root``).
    """

    source: Literal["synthetic", "manifest", "kaggle2016", "chbmit", "tusz", "bids"] = "synthetic"
    root: Path = Path("data")
    path: str | None = Field(None, description="manifest CSV or dataset folder, relative to root")
    store: str = Field("store", description="store folder, relative to root")
    synthetic: SyntheticSpec = SyntheticSpec()
    split: SplitSpec = SplitSpec()
    safe_labels: str | None = Field(None, description="Kaggle 2016 safe list CSV, relative to root")
    channels: list[str] | None = Field(None, description="channel order to read (real data)")
    montage: list[str] | None = Field(
        None, description="bipolar derivations 'A-B' to read instead of channels, from referential channels"
    )
    target_sfreq: float | None = Field(None, gt=0, description="resample real data to this rate, Hz")
    workers: int = Field(2, ge=1, description="ingest worker processes")
    on_error: Literal["skip", "stop"] = "skip"
    events_past_end: Literal["refuse", "clip"] = Field(
        "refuse",
        description="events that start or end after their recording's end: refuse the recording, or clip "
        "them to the end with a warning in the ingest report",
    )

    @model_validator(mode="after")
    def _path_for_files(self):
        if self.source != "synthetic" and not self.path:
            raise ValueError(f"data.path is required when data.source={self.source!r}")
        if self.channels is not None and self.montage is not None:
            raise ValueError("set data.channels or data.montage, not both")
        return self

    @model_validator(mode="after")
    def _paths_inside_root(self):
        for name in ("store", "path", "safe_labels"):
            value = getattr(self, name)
            if value is not None:
                try:
                    resolve_in_root(self.root, value)
                except ValueError as error:
                    raise ValueError(f"data.{name}: {error}; every data path is relative to data.root") from None
        return self

    @property
    def store_dir(self) -> Path:
        return self.root / self.store


class StreamSection(_Section):
    """Lanes and windows, in seconds (the run plan converts them to samples and adds the model's context)."""

    lanes: int = Field(8, ge=1, description="lanes of the global batch")
    window_seconds: float = Field(10.0, gt=0)
    min_valid_fraction: float = Field(0.5, ge=0, le=1)
    block_seconds: float = Field(600.0, gt=0, description="seconds each lane asks the OS to read ahead at once")
    labels: LabelRule = LabelRule()


class TrainConfig(_Section):
    seed: int = 0
    epochs: int = Field(4, ge=1)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = Field(1e-3, gt=0)
    schedule: Literal["constant", "cosine"] = "constant"
    weight_decay: float = Field(0.0, ge=0)
    clip_norm: float | None = Field(1.0, gt=0, description="global gradient norm clip; null = none")
    class_weight: Literal["balanced", "none"] | dict[int, float] = "balanced"
    step_loss_weight: float = Field(0.0, ge=0, description="weight of the per-step loss (needs model.step_head)")
    checkpoint_every: int = Field(50, ge=1, description="steps between checkpoints")
    keep_checkpoints: int = Field(2, ge=1)
    early_stopping_patience: int | None = Field(3, ge=1, description="epochs without val improvement; null = off")
    divergence_factor: float = Field(
        100.0, gt=1, description="stop when the last 20 steps' mean loss exceeds this x the recent median (see _guard)"
    )
    progress: bool = True
    deterministic: bool = Field(
        True, description="TensorFlow deterministic ops: a resumed run equals an uninterrupted one"
    )


class DistributeConfig(_Section):
    strategy: Literal["none", "mirrored", "multi_worker"] = "none"
    devices: list[str] | None = Field(None, description="mirrored: devices to use (default all)")


class JobConfig(_Section):
    data: DataConfig = DataConfig()
    stream: StreamSection = StreamSection()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    distribute: DistributeConfig = DistributeConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    compare: CompareConfig = CompareConfig()


def _set_dotted(tree: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: {key!r} is not a section")
        node = child
    node[keys[-1]] = value


def parse_override(text: str) -> tuple[str, object]:
    """``model.rnn.units=128`` -> ``("model.rnn.units", 128)``; the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected dotted.key=value")
    key, raw = text.split("=", 1)
    try:
        return key.strip(), yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:  # a tag such as !!python/object is refused by the safe loader
        problem = " ".join(str(error).split())
        raise ConfigError(f"--set {text!r}: the value is not plain YAML ({problem})") from None


def load_config(path: str | Path | None, overrides: list[str] = (), base: dict | None = None) -> JobConfig:
    """Read a YAML job config (or the defaults when ``path`` is None), apply ``--set`` overrides, validate."""
    tree: dict = dict(base or {})
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read config: {error}") from error
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
        tree.update(loaded or {})
    for text in overrides:
        _set_dotted(tree, *parse_override(text))
    try:
        return JobConfig.model_validate(tree)
    except ValidationError as error:
        lines = [
            f"{'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}" for item in error.errors()
        ]
        raise ConfigError(f"{source}: invalid config:\n  " + "\n  ".join(lines)) from None


def to_yaml(config: JobConfig) -> str:
    """The resolved config as YAML (what the run directory records)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
