"""Ingest start-up: the modules an ingest worker imports (and the command line a spawned worker
re-imports as its main module) load no TensorFlow, so workers start in about a second."""

import subprocess
import sys

import pytest

TF_MODULES = ("tensorflow", "tf_keras", "keras")


@pytest.mark.parametrize("module", ["eegseq", "eegseq.data", "eegseq.data.ingest", "eegseq.pipelines.cli"])
def test_import_loads_no_tensorflow(module):
    script = f"import sys, {module}\nprint(sorted(m for m in sys.modules if m.split('.')[0] in {TF_MODULES!r}))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_lazy_names_still_resolve():
    """The package namespaces keep their names; they are imported on first use."""
    script = (
        "import eegseq, sys\n"
        "from eegseq.data import ingest, read_recording\n"
        "assert 'tensorflow' not in sys.modules\n"
        "from eegseq.rnn import StreamRNN\n"
        "assert eegseq.rnn.StreamRNN is StreamRNN and 'tensorflow' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
