"""The baseline's features on sinusoids whose line length and band powers are known by hand."""

import numpy as np
import pytest

from eegseq.evaluation.baseline import (
    BANDS,
    PER_CHANNEL,
    BaselineUnavailable,
    channel_features,
    fit_baseline,
    window_features,
)

SFREQ, N = 400.0, 4000  # 10 s windows: whole numbers of cycles at 10 and 20 Hz


def _two_channels() -> np.ndarray:
    t = np.arange(N) / SFREQ
    alpha = 10.0 * np.sin(2 * np.pi * 10.0 * t)  # 40 samples per cycle, peaks sampled exactly
    beta = 3.0 + 5.0 * np.sin(2 * np.pi * 20.0 * t)  # 20 samples per cycle, plus a DC offset
    return np.stack([alpha, beta], axis=1)[None]


def test_channel_features_of_sinusoids_by_hand():
    features = channel_features(_two_channels(), SFREQ)[0]
    named = [dict(zip(PER_CHANNEL, row)) for row in features]
    # Line length: a sampled sine that hits its peaks travels 4A per cycle. 4000 samples give
    # 3999 differences; the missing last one goes from -A sin(2 pi / samples per cycle) to 0.
    assert named[0]["line_length"] == pytest.approx((400 * 10.0 - 10.0 * np.sin(np.pi / 20)) / 3999)
    assert named[1]["line_length"] == pytest.approx((800 * 5.0 - 5.0 * np.sin(np.pi / 10)) / 3999)
    # Variance A^2 / 2 (the offset does not count); all of it in the sinusoid's band.
    assert named[0]["variance"] == pytest.approx(50.0)
    assert named[1]["variance"] == pytest.approx(12.5)
    assert named[0]["log_power_alpha"] == pytest.approx(np.log(50.0))
    assert named[1]["log_power_beta"] == pytest.approx(np.log(12.5))
    floor = np.log(1e-6)  # no power: the documented floor
    for band in BANDS:
        if band != "alpha":
            assert named[0][f"log_power_{band}"] == pytest.approx(floor)
        if band != "beta":
            assert named[1][f"log_power_{band}"] == pytest.approx(floor)


def test_window_features_add_channel_summaries():
    features = window_features(_two_channels(), SFREQ)[0]
    f = len(PER_CHANNEL)
    assert features.shape == (2 * f + 3 * f,)
    variance = PER_CHANNEL.index("variance")
    assert features[variance] == pytest.approx(50.0) and features[f + variance] == pytest.approx(12.5)
    mean, std, maximum = (features[2 * f + k * f + variance] for k in range(3))
    assert (mean, std, maximum) == pytest.approx((31.25, 18.75, 50.0))


def test_baseline_separates_a_rhythm_from_noise_and_refuses_one_class():
    rng = np.random.default_rng(0)
    t = np.arange(800) / SFREQ
    windows = rng.normal(0, 10, size=(200, 800, 2))
    windows[100:] += 30 * np.sin(2 * np.pi * 3.0 * t)[None, :, None]  # delta rhythm in the second half
    labels = np.repeat([0, 1], 100)
    features = window_features(windows, SFREQ)
    classifier = fit_baseline(features[::2], labels[::2], seed=0)
    assert (classifier.predict_proba(features[1::2])[:, 1].round() == labels[1::2]).all()
    with pytest.raises(BaselineUnavailable, match="both classes"):
        fit_baseline(features[:100], labels[:100], seed=0)
