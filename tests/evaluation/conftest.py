"""Small synthetic split shared by the evaluation tests."""

import numpy as np
import pytest

from eegseq.evaluation.data import EvaluationSet, WindowPredictions

WINDOW_S, HOP_S, DURATION_S = 4.0, 2.0, 1200.0


def make_set(seed: int, n_recordings: int = 8, with_seizures: bool = True, noise: float = 0.7) -> EvaluationSet:
    """Recordings of 20 min, 4-s windows every 2 s; every other one has a 60-s seizure.

    Three patients; probabilities are the window label scaled by 0.5 plus uniform noise, so
    metrics are high but not perfect.
    """
    rng = np.random.default_rng(seed)
    columns = {k: [] for k in ("recording", "patient", "start_s", "end_s", "probability", "label")}
    durations, events = {}, {}
    starts = np.arange(0.0, DURATION_S - WINDOW_S + 1e-9, HOP_S)
    for r in range(n_recordings):
        rid = f"sub-{r % 3:02d}_ses-01_task-szMonitoring_run-{r:02d}"
        durations[rid] = DURATION_S
        seizures = np.array([[300.0 + 40 * r, 60.0]]) if with_seizures and r % 2 == 0 else np.zeros((0, 2))
        events[rid] = seizures
        label = np.zeros(starts.size, dtype=int)
        for onset, length in seizures:
            label[(starts + WINDOW_S > onset) & (starts < onset + length)] = 1
        probability = np.clip(0.5 * label + noise * rng.random(starts.size), 0.0, 1.0)
        columns["recording"] += [rid] * starts.size
        columns["patient"] += [f"sub-{r % 3:02d}"] * starts.size
        columns["start_s"] += starts.tolist()
        columns["end_s"] += (starts + WINDOW_S).tolist()
        columns["probability"] += probability.tolist()
        columns["label"] += label.tolist()
    return EvaluationSet(WindowPredictions(**columns), durations, events)


@pytest.fixture(scope="module")
def test_set() -> EvaluationSet:
    return make_set(seed=1)


@pytest.fixture(scope="module")
def validation_set() -> EvaluationSet:
    return make_set(seed=2)


@pytest.fixture(scope="module")
def make_split():
    """The :func:`make_set` factory, for tests that need a particular split."""
    return make_set
