"""Percentile bootstrap confidence intervals over resampled units (recordings or patients)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import NDArray

# A statistic maps the indices of the drawn units (shape (n_units,), with repeats) to named values.
Statistic = Callable[[NDArray[np.intp]], Mapping[str, float | None]]


def bootstrap_intervals(
    n_units: int, statistic: Statistic, n_resamples: int, seed: int, confidence_level: float = 0.95
) -> dict[str, dict[str, float | int | None]]:
    """Percentile intervals of each value of ``statistic`` under resampling of units.

    Each resample draws ``n_units`` unit indices with replacement from a
    ``numpy.random.default_rng(seed)`` Generator, so results repeat for a seed. Resamples
    where a value is undefined (``None``, e.g. an AUC of a resample without positives) are
    left out of that value's interval and counted in ``n_valid``.

    Args:
        n_units: number of units (recordings or patients), ``>= 1``.
        statistic: maps unit indices to ``{name: value or None}``.
        n_resamples: number of resamples, ``>= 1``.
        seed: Generator seed.
        confidence_level: coverage, e.g. 0.95 for the 2.5th and 97.5th percentiles.

    Returns:
        ``{name: {"low", "high", "n_valid"}}``; ``low``/``high`` are ``None`` when no
        resample defines the value.
    """
    if n_units < 1 or n_resamples < 1:
        raise ValueError(f"bootstrap needs n_units >= 1 and n_resamples >= 1, got {n_units}, {n_resamples}")
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(n_resamples):
        for name, value in statistic(rng.integers(0, n_units, size=n_units)).items():
            draws.setdefault(name, [])
            if value is not None and not np.isnan(value):
                draws[name].append(float(value))
    tail = (1.0 - confidence_level) / 2 * 100
    intervals: dict[str, dict[str, float | int | None]] = {}
    for name, values in draws.items():
        if values:
            low, high = np.percentile(values, [tail, 100 - tail])
            intervals[name] = {"low": float(low), "high": float(high), "n_valid": len(values)}
        else:
            intervals[name] = {"low": None, "high": None, "n_valid": 0}
    return intervals
