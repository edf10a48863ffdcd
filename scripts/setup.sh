#!/usr/bin/env bash
# Create .venv in the repository root (idempotent) and install eegseq into it.
# Usage: bash scripts/setup.sh [EXTRAS]   e.g. "dev" for the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${1:+[$1]}"
