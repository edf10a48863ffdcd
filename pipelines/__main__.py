"""``python -m pipelines`` runs the same command line as ``eegseq``."""

import sys

from pipelines.cli import main

sys.exit(main())
