"""``python -m eegseq.pipelines`` runs the same command line as ``eegseq``."""

import sys

from eegseq.pipelines.cli import main

sys.exit(main())
