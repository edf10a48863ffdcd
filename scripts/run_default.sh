#!/usr/bin/env bash
# Set up .venv and run the default job end to end on the embedded synthetic data:
# generate data -> train the stateful CNN -> LSTM model -> evaluate on the test split.
# Results: runs/default/ (model.keras, metrics.json, evaluation/test/report.md, ...).
# Re-running continues a stopped run (--resume); extra arguments pass through to `eegseq train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/eegseq train --config configs/default.yaml --run-dir runs/default --resume "$@"
