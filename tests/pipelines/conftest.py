"""Shared fixtures: the smoke config run through the real command line in subprocesses."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pytest runs in importlib mode

from smoke_cli import SMOKE, run_cli, train_args


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("smoke_data")
    result = run_cli("ingest", "--config", str(SMOKE), "--set", f"data.root={root}")
    assert result.returncode == 0, result.stderr[-4000:]
    return root


@pytest.fixture(scope="session")
def uninterrupted_run(smoke_data, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    result = run_cli(*train_args(run_dir, smoke_data))
    assert result.returncode == 0, result.stderr[-4000:]
    return run_dir
