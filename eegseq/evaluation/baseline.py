"""The classical baseline every evaluation shows beside the model: window features -> gradient boosting.

Features of one window (``window_features``), per channel:

* **line length**: mean absolute difference of consecutive samples (µV per sample);
* **variance** (µV²);
* **log band powers**: natural log of the power (µV², one-sided periodogram of the
  window with its mean removed, so the bands sum to the variance) in the standard EEG bands
  :data:`BANDS` (gamma stops at 45 Hz, below mains frequencies).

and, for each of those per-channel features, its mean, standard deviation and maximum over
channels (a seizure confined to a few channels shows in the maximum and the spread). The
classifier is scikit-learn's ``HistGradientBoostingClassifier`` with balanced class
weights. It sees each window alone, with no state: it is the yardstick a recurrent model
must beat.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier

# Standard EEG bands, Hz: [low, high).
BANDS: dict[str, tuple[float, float]] = {
    "delta": (0.5, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}
PER_CHANNEL = ("line_length", "variance", *(f"log_power_{band}" for band in BANDS))
SUMMARIES = ("mean", "std", "max")
# Floor of band powers before the log: a band without power (a flat channel) stays finite.
_POWER_FLOOR_UV2 = 1e-6


def channel_features(windows: NDArray[np.floating], sfreq: float) -> NDArray[np.float64]:
    """Per-channel features of each window.

    Args:
        windows: shape ``(n_windows, n_samples, n_channels)``, µV.
        sfreq: sampling rate, Hz.

    Returns:
        Shape ``(n_windows, n_channels, len(PER_CHANNEL))``, in :data:`PER_CHANNEL` order.
    """
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] < 2:
        raise ValueError(f"windows must have shape (n_windows, n_samples >= 2, n_channels), got {x.shape}")
    n = x.shape[1]
    line_length = np.abs(np.diff(x, axis=1)).mean(axis=1)
    centred = x - x.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, axis=1)
    power = np.abs(spectrum) ** 2 / n**2
    power[:, 1 : (n + 1) // 2] *= 2  # one-sided: the bins between DC and Nyquist stand for two
    freqs = np.fft.rfftfreq(n, d=1.0 / sfreq)
    bands = [power[:, (freqs >= low) & (freqs < high)].sum(axis=1) for low, high in BANDS.values()]
    log_powers = [np.log(np.maximum(band, _POWER_FLOOR_UV2)) for band in bands]
    return np.stack([line_length, centred.var(axis=1), *log_powers], axis=-1)


def window_features(windows: NDArray[np.floating], sfreq: float) -> NDArray[np.float64]:
    """Per-channel features followed by their across-channel summaries.

    Args:
        windows: shape ``(n_windows, n_samples, n_channels)``, µV.
        sfreq: sampling rate, Hz.

    Returns:
        Shape ``(n_windows, n_channels * F + len(SUMMARIES) * F)`` with ``F = len(PER_CHANNEL)``:
        channel-major per-channel features, then the mean, std and max over channels of each.
    """
    per_channel = channel_features(windows, sfreq)
    summaries = [per_channel.mean(axis=1), per_channel.std(axis=1), per_channel.max(axis=1)]
    return np.concatenate([per_channel.reshape(per_channel.shape[0], -1), *summaries], axis=1)


class BaselineUnavailable(ValueError):
    """The baseline cannot be trained on these windows (e.g. no positive training window)."""


def fit_baseline(
    features: NDArray[np.floating], labels: NDArray[np.integer], seed: int
) -> HistGradientBoostingClassifier:
    """Gradient boosting on labelled training windows (``labels`` 0/1, both present), balanced classes."""
    labels = np.asarray(labels)
    if set(np.unique(labels).tolist()) != {0, 1}:
        raise BaselineUnavailable("the training windows are not of both classes (0 and 1)")
    classifier = HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)
    return classifier.fit(features, labels)
