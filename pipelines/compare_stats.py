"""Statistics of a comparison: spread over seeds, paired bootstrap over seeds x recordings, findings.

Plain NumPy on arrays, so every number can be checked by hand. Undefined values are NaN here and
``None`` in the written report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Headline metrics the comparison reports, and whether a higher value is better.
HEADLINE = {
    "window_roc_auc": True,
    "recording_roc_auc": True,
    "event_f1": True,
    "event_fp_per_24h": False,
}
# Scored against reference events: meaningless where windows take their labels from the recording
# (every detection would count as a false positive).
EVENT_METRICS = ("event_f1", "event_fp_per_24h")


def compared_metrics(label_source: str) -> tuple[str, ...]:
    """The headline metrics that apply when windows are labelled from ``label_source``
    (``stream.labels.source``: ``"events"`` or ``"recording"``)."""
    return tuple(m for m in HEADLINE if label_source == "events" or m not in EVENT_METRICS)


def mean_std(values) -> dict[str, float | int | None]:
    """Mean and sample standard deviation (ddof=1; 0 for one value) of the defined (finite) values."""
    array = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(array, ddof=1)) if array.size > 1 else 0.0
    return {"mean": float(np.mean(array)), "std": std, "n": int(array.size)}


@dataclass(frozen=True)
class Draws:
    """The resamples of a paired bootstrap, shared by every comparison of a report.

    Attributes:
        seeds: ``(resamples, n_seeds)`` positions into the seed list, drawn with replacement.
        recordings: ``(resamples, n_recordings)`` recording indices, drawn with replacement.
    """

    seeds: NDArray[np.intp]
    recordings: NDArray[np.intp]

    @classmethod
    def draw(cls, n_seeds: int, n_recordings: int, resamples: int, seed: int) -> Draws:
        """Seeds and recordings resampled independently, by ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        seeds = rng.integers(0, n_seeds, size=(resamples, n_seeds))
        recordings = rng.integers(0, n_recordings, size=(resamples, n_recordings))
        return cls(seeds, recordings)


def paired_differences(variant: NDArray, baseline: NDArray, seed_draws: NDArray[np.intp]) -> NDArray[np.float64]:
    """Per resample, the mean over the drawn seeds of ``variant`` minus the mean of ``baseline``.

    Args:
        variant, baseline: ``(n_seeds, resamples)`` metric of each seed's run on each resample's
            recordings; NaN where undefined or where the run has no value (diverged).
        seed_draws: ``(resamples, n_seeds)`` drawn seed positions.

    Returns:
        ``(resamples,)`` differences; a drawn seed counts only where both runs define the value (the
        pairs share their seed, hence their initial weights), NaN when no drawn seed does.
    """
    columns = np.arange(seed_draws.shape[0])[:, None]
    a, b = variant[seed_draws, columns], baseline[seed_draws, columns]  # (resamples, n_seeds)
    both = np.isfinite(a) & np.isfinite(b)
    count = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(both, a - b, 0.0).sum(axis=1) / np.where(count > 0, count, np.nan)


def percentile_interval(values: NDArray, confidence_level: float) -> dict[str, float | int | None]:
    """Percentile interval of the finite ``values``, with how many there were."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"low": None, "high": None, "n_valid": 0}
    tail = (1 - confidence_level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return {"low": float(low), "high": float(high), "n_valid": int(finite.size)}


def paired_point(variant: NDArray, baseline: NDArray) -> float | None:
    """Mean over seeds of ``variant - baseline`` on all recordings, over the pairs both define."""
    both = np.isfinite(variant) & np.isfinite(baseline)
    return float(np.mean(variant[both] - baseline[both])) if both.any() else None


def finding(metric: str, label: str, baseline: str, difference: dict) -> str:
    """One sentence about ``label`` against ``baseline`` on ``metric`` from its paired difference.

    An interval that includes zero says "no difference shown"; otherwise the direction and whether
    it is better or worse (for ``event_fp_per_24h`` lower is better).
    """
    low, high, point = difference["low"], difference["high"], difference["difference"]
    if low is None or point is None:
        return f"{label} vs {baseline}, {metric}: undefined (no seed or resample defines it)."
    span = f"{point:+.3g} [{low:+.3g}, {high:+.3g}]"
    if low <= 0 <= high:
        return f"{label} vs {baseline}, {metric}: no difference shown ({span})."
    higher = low > 0
    better = higher == HEADLINE.get(metric, True)
    direction, verdict = ("higher" if higher else "lower"), ("better" if better else "worse")
    return f"{label} vs {baseline}, {metric}: {direction} ({span}), {verdict}."


def tie_finding(metric: str, values: list[float | None]) -> str | None:
    """A sentence when every finished run scores the same on ``metric`` (e.g. all at the ceiling of
    1.0): then no paired difference can be non-zero, and "no difference shown" says nothing about the
    variants. None otherwise (or with fewer than two defined values)."""
    defined = [v for v in values if v is not None and np.isfinite(v)]
    if len(defined) < 2 or min(defined) != max(defined):
        return None
    return (
        f"{metric}: all {len(defined)} finished runs score {defined[0]:.3g}; this comparison cannot separate "
        "the variants on it (a harder task, or other rates, may)."
    )


# Fewer resampling units than this make percentile intervals unreliable (too narrow, too few distinct resamples).
MIN_RECORDINGS, MIN_SEEDS = 10, 3


def sample_size_finding(n_recordings: int, n_seeds: int) -> str | None:
    """A caveat when the bootstrap has too few test recordings or seeds to resample; None otherwise."""
    short = [
        f"{count} {unit}{'s' * (count != 1)} (fewer than {least})"
        for count, unit, least in ((n_recordings, "test recording", MIN_RECORDINGS), (n_seeds, "seed", MIN_SEEDS))
        if count < least
    ]
    if not short:
        return None
    return (
        f"Only {' and '.join(short)}: intervals from so few resampling units are unreliable; "
        "read every difference below as a first look."
    )
