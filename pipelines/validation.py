"""Validation at the end of each epoch: window metrics of the validation split, and early stopping on them."""

from __future__ import annotations

from eegseq.evaluation import WindowPredictions
from eegseq.evaluation.window import cross_entropy, ranking_metrics
from eegseq.pipelines.history import Progress


def validation_metrics(predictions: WindowPredictions) -> dict:
    """Validation loss (unweighted cross-entropy) and window ROC-AUC over the labelled validation windows."""
    labelled = predictions.labelled
    labels, probabilities = predictions.label[labelled], predictions.probability[labelled]
    loss = cross_entropy(labels, probabilities) if labels.size else None
    ranking, _ = ranking_metrics(labels, probabilities)
    return {"val_loss": loss, "val_auc": ranking["roc_auc"], "val_windows": int(labels.size)}


def early_stopping(progress: Progress, record: dict, patience: int | None) -> bool:
    """Score the epoch ``record`` (validation AUC, or minus the loss when the AUC is undefined) and
    update ``progress``'s best epoch and patience; True when it is the best epoch so far.

    ``progress.stopped_early`` becomes True after ``patience`` epochs without improvement (never
    with ``patience`` None).
    """
    score = record["val_auc"] if record["val_auc"] is not None else -record["val_loss"]
    if progress.best_score is None or score > progress.best_score:
        progress.best_score, progress.best_epoch, progress.epochs_without_improvement = score, record["epoch"], 0
        return True
    progress.epochs_without_improvement += 1
    progress.stopped_early = patience is not None and progress.epochs_without_improvement >= patience
    return False
