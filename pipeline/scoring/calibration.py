"""Calibration: turning classifier scores into probabilities that mean what they say.

A queue that sees 0.7 should be right about 70% of the time; handlers set their thresholds on
that promise. Isotonic regression fitted on out-of-fold scores keeps the ranking (AUROC) intact
and fixes the scale; expected calibration error measures how well it worked.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score


def reliability_bins(labels: ArrayLike, probabilities: ArrayLike, bins: int = 15) -> list[tuple[float, float, int]]:
    """Per non-empty equal-width bin: (mean predicted probability, share that were positive, count).

    The reliability diagram's points, and what the expected calibration error sums over."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    return [(float(p[which == b].mean()), float(y[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]


def expected_calibration_error(labels: ArrayLike, probabilities: ArrayLike, bins: int = 15) -> float:
    """ECE with equal-width bins (Guo et al. 2017): the mean |accuracy - confidence| weighted by bin size."""
    n = len(np.asarray(labels))
    return float(sum(count / n * abs(positive - predicted)
                     for predicted, positive, count in reliability_bins(labels, probabilities, bins)))


def fit_isotonic(scores: ArrayLike, labels: ArrayLike) -> IsotonicRegression:
    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)


def best_macro_f1_threshold(labels: ArrayLike, probabilities: ArrayLike) -> float:
    """The decision threshold that maximises macro-F1 on held-out probabilities.

    Only thresholds between distinct probabilities matter (isotonic outputs are steps), so every
    observed probability is a candidate; ties go to the threshold nearest 0.5.
    """
    y = np.asarray(labels)
    p = np.asarray(probabilities, dtype=float)
    candidates: NDArray[np.float64] = np.unique(np.clip(p, 0.05, 0.95))
    best, best_score = 0.5, -1.0
    for t in candidates:
        score = f1_score(y, p >= t, average="macro")
        if score > best_score + 1e-9 or (abs(score - best_score) <= 1e-9 and abs(t - 0.5) < abs(best - 0.5)):
            best, best_score = float(t), score
    return best
