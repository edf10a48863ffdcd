"""Seizure-detection evaluation on arrays: window, recording and event level, plots, reports.

Knows nothing of models: it takes per-window probabilities with their time spans
(:class:`WindowPredictions`), reference seizures and recording durations
(:class:`EvaluationSet`), and an :class:`EvaluationConfig`.

Typical use::

    result = evaluate(test_set, config, validation=validation_predictions)
    write_outputs(run_dir / "evaluation" / "test", test_set, result)

See ``docs/evaluation.md`` for the metrics and the ``metrics.json`` schema.
"""

from eegseq.evaluation.config import EvaluationConfig
from eegseq.evaluation.data import EvaluationSet, WindowPredictions
from eegseq.evaluation.evaluator import SCHEMA_VERSION, EvaluationResult, evaluate
from eegseq.evaluation.outputs import write_outputs

__all__ = [
    "SCHEMA_VERSION",
    "EvaluationConfig",
    "EvaluationResult",
    "EvaluationSet",
    "WindowPredictions",
    "evaluate",
    "write_outputs",
]
