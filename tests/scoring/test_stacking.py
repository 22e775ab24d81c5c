"""The maps fitted on out-of-fold scores on top of the deep network: stack, severity offsets, decisions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from pipeline.scoring.stacking import DecisionMaps, SeverityOffsets, Stack, severity_macro_f1


@pytest.fixture
def two_views():
    """Two noisy views of the same labels whose errors are independent: together they rank better."""
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 3000)
    view = lambda: 1 / (1 + np.exp(-(2.0 * (labels - 0.5) * 2 + rng.normal(0, 1.6, 3000))))  # noqa: E731
    return labels, view(), view()


def test_the_stack_ranks_better_than_either_model_alone(two_views):
    labels, deep, fast = two_views
    stack = Stack.fit(deep, fast, labels)
    assert stack.deep_weight > 0 and stack.fast_weight > 0
    stacked = roc_auc_score(labels, stack.score(deep, fast))
    assert stacked > max(roc_auc_score(labels, deep), roc_auc_score(labels, fast)) + 0.01


def test_severity_macro_f1_matches_scikit_learn():
    rng = np.random.default_rng(2)
    y, d = rng.integers(0, 5, 800), rng.integers(0, 5, 800)
    assert severity_macro_f1(y, d) == pytest.approx(f1_score(y, d, average="macro", labels=range(5)))


def test_offsets_recover_a_level_the_argmax_never_calls():
    rng = np.random.default_rng(3)
    n = 2000
    levels = rng.integers(1, 5, n)
    within = rng.dirichlet(np.ones(4), n) * 0.2
    within[np.arange(n), levels - 1] += 0.3
    within[:, 0] += 0.35  # a head biased to "no explicit reproach": level 1 wins nearly everywhere
    p = np.column_stack([np.zeros(n), within / within.sum(axis=1, keepdims=True)])
    flagged = np.ones(n, dtype=bool)
    plain = SeverityOffsets().decide(p, flagged)
    tuned = SeverityOffsets.fit(p, flagged, levels)
    assert tuned.offsets[0] == 0.0
    assert severity_macro_f1(levels, tuned.decide(p, flagged)) > severity_macro_f1(levels, plain) + 0.2
    assert (SeverityOffsets((0, 5, 5, 5)).decide(p, ~flagged) == 0).all()  # never a level where not flagged


def test_decision_maps_calibrate_the_stack_and_refuse_a_missing_fast_score(two_views):
    labels, deep, fast = two_views
    severity = np.where(labels == 1, 2, 0)
    raw_severity = np.tile([0.5, 0.2, 0.2, 0.05, 0.05], (len(labels), 1))
    maps = DecisionMaps.fit(deep, raw_severity, labels, severity, fast)
    p = maps.probability(deep, fast)
    assert 0.0 <= p.min() and p.max() <= 1.0 and maps.stack is not None
    high = p >= 0.7
    assert abs(labels[high].mean() - p[high].mean()) < 0.05  # calibrated: 0.7+ means about that often
    with pytest.raises(ValueError, match="fast model's P"):
        maps.probability(deep)
