"""Contextual calibration arithmetic (the scorer's use of it is in test_scorer.py)."""

import numpy as np
import pytest

from helpers.calibration import calibrate_probs


def test_calibrate_probs_math():
    probs = np.array([[0.8, 0.2], [0.6, 0.4]])
    out = calibrate_probs(probs, np.array([0.75, 0.25]))
    np.testing.assert_allclose(out, [[0.8 / 0.75, 0.8], [0.8, 1.6]] / np.array([[0.8 / 0.75 + 0.8], [2.4]]))
    with pytest.raises(ValueError, match="shape"):
        calibrate_probs(probs, np.array([0.5, 0.3, 0.2]))
