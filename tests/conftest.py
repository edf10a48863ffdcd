"""Test-wide settings: quiet TensorFlow, deterministic ops, float tolerance helpers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
