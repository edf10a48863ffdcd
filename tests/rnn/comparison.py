"""Float32 comparison at the scale of the compared array."""

import numpy as np


def assert_close_at_scale(got, want, rel=1e-5):
    """Assert |got - want| <= rel * max(1, max |want|) elementwise.

    Weight gradients are sums over batch and time: two correct engines that add in a different
    order (XLA fuses and reorders, CPUs differ in FMA use) differ by float32 rounding of the
    largest terms, not of each element, so the tolerance follows the array's scale.
    """
    want = np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=0, atol=rel * max(1.0, float(np.abs(want).max(initial=0.0))))
