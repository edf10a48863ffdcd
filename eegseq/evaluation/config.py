"""Evaluation parameters as a validated pydantic model, embeddable in a job's YAML config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ThresholdMethod = Literal["fixed", "youden", "target_sensitivity", "target_specificity", "max_fp_per_24h"]
Aggregation = Literal["max", "mean", "top_k_mean", "last"]
BootstrapUnit = Literal["recording", "patient"]


class EvaluationConfig(BaseModel):
    """Parameters of :func:`eegseq.evaluation.evaluate`. Times are in seconds.

    Defaults for the event scorer are SzCORE's (``timescoring`` 0.0.7 defaults).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Threshold: chosen on the validation split, then applied unchanged to the evaluated split
    # (rules in eegseq/evaluation/thresholds.py and docs/evaluation.md).
    threshold_method: ThresholdMethod = Field(
        "youden",
        description="'fixed', 'youden' (max TPR-FPR), 'target_sensitivity', 'target_specificity' or "
        "'max_fp_per_24h' (largest validation event sensitivity within max_fp_per_24h false positives)",
    )
    target_sensitivity: float = Field(
        0.9, gt=0.0, le=1.0, description="window sensitivity to reach when threshold_method='target_sensitivity'"
    )
    target_specificity: float = Field(
        0.99, gt=0.0, le=1.0, description="window specificity to keep when threshold_method='target_specificity'"
    )
    max_fp_per_24h: float = Field(
        10.0, ge=0.0, description="bound on validation false positives per 24 h when threshold_method='max_fp_per_24h'"
    )
    fixed_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="threshold of 'fixed', and the fallback of a rule the data cannot apply"
    )
    calibration_bins: int = Field(10, ge=2, description="equal-width probability bins of the calibration curve")

    # Recording level
    aggregation: Aggregation = Field("max", description="how window probabilities become one recording score")
    top_k: int = Field(3, ge=1, description="k of aggregation='top_k_mean' (all windows if fewer)")

    # Event detection
    event_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="threshold on smoothed probabilities; None = the window threshold"
    )
    smoothing_s: float = Field(0.0, ge=0.0, description="trailing moving-average span; 0 = no smoothing")
    min_duration_s: float = Field(0.0, ge=0.0, description="detected events shorter than this are dropped")
    merge_gap_s: float = Field(0.0, ge=0.0, description="detected events separated by <= this gap are merged")

    # SzCORE event scoring (timescoring.scoring.EventScoring.Parameters) and sample scoring
    tolerance_start_s: float = Field(30.0, ge=0.0, description="tolerance before a reference onset")
    tolerance_end_s: float = Field(60.0, ge=0.0, description="tolerance after a reference end")
    min_overlap: float = Field(0.0, ge=0.0, lt=1.0, description="minimum relative overlap for a detection")
    max_event_duration_s: float = Field(300.0, gt=0.0, description="scorer splits longer events")
    min_duration_between_events_s: float = Field(90.0, ge=0.0, description="scorer merges closer events")
    sample_scoring_fs: int = Field(1, ge=1, description="label rate of sample scoring, Hz")

    # Uncertainty
    bootstrap_unit: BootstrapUnit = Field("recording", description="unit resampled with replacement")
    bootstrap_resamples: int = Field(1000, ge=0, description="number of bootstrap resamples; 0 = no CIs")
    bootstrap_seed: int = Field(0, description="seed of the numpy Generator that draws resamples")
    confidence_level: float = Field(0.95, gt=0.0, lt=1.0, description="coverage of the percentile intervals")

    # Classical baseline, evaluated beside the model by the evaluation job (eegseq/evaluation/baseline.py)
    baseline: Literal["features", "none"] = Field(
        "features", description="'features': window features -> gradient boosting on the train split; 'none'"
    )

    # Report
    trace_recordings: int = Field(4, ge=0, description="recordings drawn in traces.png (seizure ones first)")

    @model_validator(mode="after")
    def _one_event_threshold(self) -> EvaluationConfig:
        if self.threshold_method == "max_fp_per_24h" and self.event_threshold is not None:
            raise ValueError(
                "event_threshold must be null with threshold_method='max_fp_per_24h' "
                "(that rule chooses the event-detection threshold itself)"
            )
        return self
