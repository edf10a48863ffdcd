"""The comparison grid: variants, rates, seeds, per-job configs, shards and their environment."""

import pytest
from smoke_cli import REPO

from eegseq.pipelines.compare_config import BUILTIN, NONE
from eegseq.pipelines.compare_grid import Shard, grid, shard_from_environment
from eegseq.pipelines.config import ConfigError, load_config

SMOKE = REPO / "configs" / "compare_smoke.yaml"


def _config(*overrides):
    return load_config(SMOKE, list(overrides))


def test_grid_holds_every_variant_rate_and_seed_once():
    config = _config(
        "compare.variants=[semeniuta, {name: moon_exp, dropout: {preset: moon, scaling: expectation}, rates: [0.1]}]",
        "compare.rates=[0.25, 0.5]",
        "compare.seeds=[4, 7]",
    )
    names = [job.name for job in grid(config.compare, config.train.seed)]
    per_seed = (
        ["none-s{s}"]
        + [f"{BUILTIN}-p0.25-s{{s}}", f"{BUILTIN}-p0.5-s{{s}}"]
        + ["semeniuta-p0.25-s{s}", "semeniuta-p0.5-s{s}", "moon_exp-p0.1-s{s}"]
    )
    assert names == [name.format(s=seed) for seed in (4, 7) for name in per_seed]


def test_seed_count_counts_from_the_train_seed():
    config = _config("compare.seeds=3", "train.seed=10")
    assert sorted({job.seed for job in grid(config.compare, config.train.seed)}) == [10, 11, 12]


def test_job_config_changes_only_dropout_seeds_and_early_stopping():
    config = _config("train.early_stopping_patience=2", "compare.variants=[{name: z, dropout: {preset: zoneout}}]")
    jobs = {job.name: job for job in grid(config.compare, config.train.seed)}
    zoneout = jobs["z-p0.25-s1"].config(config)
    none = jobs["none-s1"].config(config)
    spec = zoneout.model.rnn.dropout.spec()
    assert (spec.scheme, spec.zoneout_h, spec.zoneout_c) == ("zoneout", 0.25, 0.25)  # the rate sets both
    assert none.model.rnn.dropout.spec().scheme == "none"
    for job_config in (zoneout, none):
        assert job_config.train.seed == job_config.model.seed == 1
        assert job_config.train.early_stopping_patience is None  # same step budget for all
        assert job_config.data == config.data and job_config.stream == config.stream
        assert job_config.train.model_copy(update={"seed": 0, "early_stopping_patience": 2}) == config.train


@pytest.mark.parametrize(
    "override, message",
    [
        ("compare.variants=[bogus]", "'bogus' is not a preset"),
        (f"compare.variants=[{{name: {NONE}, dropout: {{preset: gal}}}}]", "reserved"),
        ("compare.variants=[gal, {name: gal, dropout: {preset: moon}}]", "more than once"),
        ("compare.rates=[0.0]", "expected drop rates in (0, 1)"),
        ("compare.seeds=0", "expected a count >= 1"),
    ],
)
def test_bad_compare_settings_name_the_field(override, message):
    with pytest.raises(ConfigError, match="compare") as error:
        _config(override)
    assert message in str(error.value)


def test_shards_partition_the_grid():
    jobs = list(range(11))
    slices = [Shard(i, 3).select(jobs) for i in range(3)]
    assert sorted(j for s in slices for j in s) == jobs
    assert slices[1] == [1, 4, 7, 10]
    with pytest.raises(ValueError, match="3/3"):
        Shard(3, 3)
    assert Shard.parse("2/5") == Shard(2, 5)
    with pytest.raises(ValueError, match="INDEX/COUNT"):
        Shard.parse("2")


def test_shard_from_kubernetes_and_slurm_environment():
    assert shard_from_environment(None, {}) is None
    assert shard_from_environment(4, {"JOB_COMPLETION_INDEX": "3"}) == Shard(3, 4)
    with pytest.raises(ValueError, match="compare.shards"):
        shard_from_environment(None, {"JOB_COMPLETION_INDEX": "0"})
    slurm = {"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "5"}
    assert shard_from_environment(None, slurm) == Shard(2, 5)
    assert shard_from_environment(8, slurm) == Shard(2, 8)  # the config's count wins
