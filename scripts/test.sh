#!/usr/bin/env bash
# Set up .venv with the test tools and run the test suite. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# Quiet TensorFlow's C++ start-up banner; keep ops deterministic so numeric tests repeat.
export TF_CPP_MIN_LOG_LEVEL=2 TF_DETERMINISTIC_OPS=1
exec .venv/bin/python -m pytest "$@"
