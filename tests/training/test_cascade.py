"""Choosing the cascade's band on out-of-fold scores, and the cross-fitted protocol around it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.training.cascade import EVERYTHING, NOTHING, choose_band, cross_validate_cascade, macro_f1
from pipeline.training.evaluation import OutOfFold


def _oof(p: np.ndarray, decision: np.ndarray, fold: np.ndarray) -> OutOfFold:
    return OutOfFold(p, decision.astype(int), decision.astype(int) * 2, fold)


@pytest.fixture
def scenario():
    """A fast model right far from its threshold and a coin toss near it; a deep model right everywhere
    but on a few rows where the fast model is confident and right."""
    rng = np.random.default_rng(1)
    n = 2000
    labels = rng.integers(0, 2, n)
    p_fast = np.clip(np.where(labels == 1, rng.normal(0.7, 0.2, n), rng.normal(0.3, 0.2, n)), 0, 1)
    unsure = np.abs(p_fast - 0.5) < 0.15
    fast_decision = np.where(unsure, rng.integers(0, 2, n), labels)
    wrong = (rng.random(n) < 0.02) & ~unsure
    deep_decision = np.where(wrong, 1 - labels, labels)
    fold = np.arange(n) % 5
    frame = pd.DataFrame({"label": labels, "severity": labels * 2, "domain": np.where(fold < 3, "a", "b")})
    return frame, _oof(p_fast, fast_decision, fold), _oof(np.where(deep_decision, 0.9, 0.1), deep_decision, fold)


def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y, d = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    assert macro_f1(y, d) == pytest.approx(f1_score(y, d, average="macro"))


def test_the_band_covers_where_the_fast_model_is_unsure_and_little_else(scenario):
    frame, fast, deep = scenario
    labels = frame["label"].to_numpy()
    band = choose_band(fast, deep, labels, np.arange(len(labels)), loss_points=0.25)
    inside = band.contains(fast.complaint)
    unsure = np.abs(fast.complaint - 0.5) < 0.15
    assert band not in (EVERYTHING, NOTHING)
    assert band.low <= 0.4 and band.high >= 0.6  # the coin-toss zone goes to the deep model
    assert inside.mean() < 0.6  # far less than everything
    assert inside[unsure].mean() > 0.9
    cascade = np.where(inside, deep.decision, fast.decision)
    assert macro_f1(labels, cascade) >= macro_f1(labels, deep.decision) - 0.0025


def test_no_band_when_the_fast_model_is_already_as_good(scenario):
    frame, fast, _ = scenario
    labels = frame["label"].to_numpy()
    assert choose_band(fast, fast, labels, np.arange(len(labels))) == NOTHING


def test_the_protocol_chooses_each_folds_band_on_the_other_folds(scenario):
    frame, fast, deep = scenario
    result = cross_validate_cascade(frame, fast, deep, seed=13)
    assert len(result["bands"]) == 5
    assert 0.0 < result["rescored_share"] < 0.6
    assert result["macro_f1_loss_points_vs_deep"] <= 0.5
    assert result["complaint_macro_f1"] > macro_f1(frame["label"].to_numpy(), fast.decision)
    assert set(result["per_domain"]) == {"a", "b"}


def test_scores_from_different_folds_are_refused(scenario):
    frame, fast, deep = scenario
    shifted = OutOfFold(deep.complaint, deep.decision, deep.severity, np.roll(deep.fold, 1))
    with pytest.raises(ValueError, match="different folds"):
        cross_validate_cascade(frame, fast, shifted, seed=13)
