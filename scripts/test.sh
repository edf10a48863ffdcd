#!/usr/bin/env bash
# Set up .venv (idempotent) and run the test suite. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
# Quiet TensorFlow's C++ start-up banner; keep ops deterministic so numeric tests repeat.
export TF_CPP_MIN_LOG_LEVEL=2 TF_DETERMINISTIC_OPS=1
exec .venv/bin/python -m pytest "$@"
