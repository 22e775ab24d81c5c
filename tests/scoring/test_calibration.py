import numpy as np
import pytest

from pipeline.scoring.calibration import best_macro_f1_threshold, expected_calibration_error, fit_isotonic


def test_ece_is_zero_when_confidence_matches_frequency():
    rng = np.random.default_rng(0)
    p = np.repeat([0.1, 0.5, 0.9], 20000)
    y = rng.random(p.size) < p
    assert expected_calibration_error(y, p) < 0.01


def test_ece_measures_overconfidence():
    y = np.array([1, 0] * 500)
    assert expected_calibration_error(y, np.full(y.size, 0.95)) == pytest.approx(0.45, abs=1e-9)


def test_isotonic_calibration_repairs_a_distorted_scale():
    rng = np.random.default_rng(1)
    true_p = rng.random(20000)
    y = rng.random(true_p.size) < true_p
    distorted = true_p**3  # same ranking, wrong scale
    calibrated = fit_isotonic(distorted, y).predict(distorted)
    assert expected_calibration_error(y, distorted) > 0.15
    assert expected_calibration_error(y, calibrated) < 0.02


def test_threshold_search_finds_the_separating_point():
    y = np.array([0] * 50 + [1] * 50)
    p = np.concatenate([np.linspace(0.0, 0.3, 50), np.linspace(0.31, 1.0, 50)])
    t = best_macro_f1_threshold(y, p)
    assert 0.3 < t <= 0.31
