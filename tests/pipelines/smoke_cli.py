"""Run the command line (``python -m eegseq.pipelines``) on the smoke config in subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.yaml"


def cli_env() -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "eegseq.pipelines", *args]


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=timeout, env=cli_env(), cwd=REPO)


def train_args(run_dir: Path, data_root: Path, *extra: str) -> list[str]:
    return ["train", "--config", str(SMOKE), "--run-dir", str(run_dir), "--set", f"data.root={data_root}", *extra]
