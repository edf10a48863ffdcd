"""Seizure-detection evaluation on arrays: window, recording and event level, plots, reports.

Knows nothing of models: it takes per-window probabilities with their time spans
(:class:`WindowPredictions`), reference seizures and recording durations
(:class:`EvaluationSet`), and an :class:`EvaluationConfig`.

Typical use::

    result = evaluate(test_set, config, validation=validation_predictions)
    write_outputs(run_dir / "evaluation" / "test", test_set, result)

See ``docs/evaluation.md`` for the metrics and the ``metrics.json`` schema.
"""

import lazy_loader

# Names are imported on first use: see the note in eegseq/__init__.py.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "config": ["EvaluationConfig"],
        "data": ["EvaluationSet", "WindowPredictions"],
        "evaluator": ["SCHEMA_VERSION", "EvaluationResult", "evaluate", "with_baseline"],
        "outputs": ["write_outputs"],
    },
)
