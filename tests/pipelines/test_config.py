"""Job configs: shipped configs validate, errors name the field path, overrides work."""

from pathlib import Path

import pytest

from eegseq.data.manifest import read_manifest
from eegseq.data.manifest_builders import SyntheticDatasetSpec
from eegseq.pipelines.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    config = load_config(path)
    assert config.model.rnn.layers >= 1


def test_default_config_is_the_shipped_synthetic_dataset():
    config = load_config(REPO / "configs" / "default.yaml")
    shipped = SyntheticDatasetSpec.load(REPO / "data_manifest" / "synthetic_default" / "spec.json")
    assert config.data.synthetic == shipped.synthetic
    assert config.data.split == shipped.split
    rebuilt = [row.model_dump() for row in shipped.build().rows]
    assert rebuilt == [
        row.model_dump() for row in read_manifest(REPO / "data_manifest" / "synthetic_default" / "manifest.csv")
    ]


def test_dotted_overrides_are_typed():
    config = load_config(
        REPO / "configs" / "smoke.yaml",
        ["model.rnn.units=128", "train.class_weight={0: 1.0, 1: 3.5}", "model.rnn.dropout.preset=zoneout"],
    )
    assert config.model.rnn.units == 128
    assert config.train.class_weight == {0: 1.0, 1: 3.5}
    assert config.model.rnn.dropout.spec().scheme == "zoneout"


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["train.learning_rate=-1"], ["train.learning_rate", "greater than 0"]),
        (["model.rnn.unitz=3"], ["model.rnn.unitz", "Extra inputs are not permitted"]),
        (
            ["model.rnn.dropout.preset=weight_drop", "model.rnn.dropout.scope=recording"],
            ["model.rnn.dropout", "'window'"],
        ),
        (["distribute.strategy=horovod"], ["distribute.strategy", "'mirrored'"]),
        (["data.source=kaggle2016"], ["data.path is required"]),
        (["stream.lanes=0"], ["stream.lanes"]),
    ],
)
def test_errors_name_the_field_path(overrides, words):
    with pytest.raises(ConfigError) as error:
        load_config(REPO / "configs" / "smoke.yaml", overrides)
    message = str(error.value)
    assert "smoke.yaml" in message
    for word in words:
        assert word in message


def test_malformed_override_and_file(tmp_path):
    with pytest.raises(ConfigError, match="expected dotted.key=value"):
        load_config(None, ["model.rnn.units"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n- not a mapping\n")
    with pytest.raises(ConfigError, match="bad.yaml: expected a mapping"):
        load_config(bad)


@pytest.mark.parametrize(
    "override", ["data.store=../elsewhere", "data.store=/tmp/store", "data.path=../../etc", "data.safe_labels=/x.csv"]
)
def test_data_paths_outside_the_data_root_are_refused(override):
    field = override.split("=")[0]
    with pytest.raises(ConfigError, match=rf"{field}: path .* outside the data root"):
        load_config(REPO / "configs" / "smoke.yaml", [override])


def test_a_store_inside_the_data_root_is_accepted():
    config = load_config(REPO / "configs" / "smoke.yaml", ["data.store=stores/../store2"])
    assert config.data.store == "stores/../store2"


def test_an_override_with_a_yaml_tag_is_refused_naming_the_option():
    with pytest.raises(ConfigError, match=r"--set 'train.seed=!!python/object/apply:os.system \[ls\]'.*not plain YAML"):
        load_config(None, ["train.seed=!!python/object/apply:os.system [ls]"])
