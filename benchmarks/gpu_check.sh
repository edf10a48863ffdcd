#!/usr/bin/env bash
# The GPU check of eegseq.rnn, one prepared run of at most 8 minutes on a machine with a GPU:
#   1. the rnn tests that exercise every engine (stock equivalence, XLA loop, recompute, fused kernel) on the GPU;
#   2. benchmarks/rnn_speed.py for the LSTM: the stock layer (cuDNN where tf-keras dispatches to it),
#      none/weight_drop on the fused kernel and on the XLA loop, and the XLA loop for each preset;
#   3. the smoke training job (configs/smoke.yaml) end to end on the GPU.
# Usage: bash benchmarks/gpu_check.sh [OUT_DIR]   (default: $OUT, else gpu_check_out). Each part has its own
# time limit, so a hang in one still leaves the others' results; OUT_DIR/summary.txt lists each exit status.
# Needs Python with tensorflow, tf_keras and eegseq's dependencies (PYTHON=..., default .venv/bin/python or
# python3); installs eegseq itself from this checkout without network access if it is not importable.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$out"
py="${PYTHON:-.venv/bin/python}"
[ -x "$py" ] || py=python3
export TF_CPP_MIN_LOG_LEVEL=2
summary="$out/summary.txt"
: > "$summary"

part() {  # part NAME SECONDS COMMAND...: run with a time limit, log to OUT_DIR/NAME.txt, note the exit status
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout --kill-after=10 "$limit" "$@" > "$out/$name.txt" 2>&1
    local status=$?
    echo "$name: exit $status after $((SECONDS - start)) s (limit $limit s)" | tee -a "$summary"
}

{
    date -u +"%Y-%m-%dT%H:%M:%SZ"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi not available"
    "$py" -c "import tensorflow as tf; print('tensorflow', tf.__version__); print(tf.config.list_physical_devices('GPU'))"
    git rev-parse HEAD 2>/dev/null
} > "$out/device.txt" 2>&1
cat "$out/device.txt"

if ! "$py" -c "import eegseq.pipelines" 2>/dev/null; then
    part install 60 "$py" -m pip install --no-deps --no-build-isolation -e .
fi
if ! "$py" -c "import tensorflow as tf, sys; sys.exit(not tf.config.list_physical_devices('GPU'))"; then
    echo "no GPU visible to TensorFlow: stopping (see $out/device.txt)" | tee -a "$summary"
    exit 1
fi

part tests 150 env TF_DETERMINISTIC_OPS=1 "$py" -m pytest -q -p no:cacheprovider \
    tests/rnn/test_stock_equivalence.py tests/rnn/test_streaming.py \
    tests/rnn/test_engines.py::test_engines_agree_in_training_with_gradients
part rnn_speed 200 "$py" benchmarks/rnn_speed.py --cells lstm --repeats 5 \
    --presets none weight_drop keras gal semeniuta moon zoneout
part smoke_train 100 "$py" -m eegseq.pipelines train --config configs/smoke.yaml --run-dir "$out/smoke_run"
echo
cat "$summary"
tail -n 25 "$out/rnn_speed.txt"
