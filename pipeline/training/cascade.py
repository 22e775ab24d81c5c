"""Choosing the cascade's uncertain band on out-of-fold predictions, and measuring it the same way.

The band is the narrowest interval of the fast model's P(complaint) such that sending it to the
deep model loses at most `FIT_LOSS_POINTS` macro-F1 points against the deep model alone on the
folds it is chosen on. The protocol then applies each fold's band, chosen on the other nine
folds, to that fold, so the reported loss (target ≤ 0.5 points) is measured on tweets the band
never saw; fitting to half the allowance leaves room for the difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.scoring.cascade import Band
from pipeline.training.evaluation import OutOfFold, fold_metrics, summarise

MAX_LOSS_POINTS = 0.5
FIT_LOSS_POINTS = 0.25
EVERYTHING = Band(0.0, 1.000001)
NOTHING = Band(0.0, 0.0)
GRID = 101  # candidate edges: percentiles of the fast model's probabilities


def macro_f1(labels: np.ndarray, decision: np.ndarray) -> float:
    """Binary macro-F1 from counts: the band search evaluates thousands of candidates."""
    y, d = labels.astype(bool), decision.astype(bool)
    tp, fp, fn = np.sum(y & d), np.sum(~y & d), np.sum(y & ~d)
    tn = len(y) - tp - fp - fn
    f1_pos = 2 * tp / max(2 * tp + fp + fn, 1)
    f1_neg = 2 * tn / max(2 * tn + fn + fp, 1)
    return float((f1_pos + f1_neg) / 2)


def choose_band(fast: OutOfFold, deep: OutOfFold, labels: np.ndarray, rows: np.ndarray,
                loss_points: float = FIT_LOSS_POINTS) -> Band:
    """The band sending the fewest `rows` to the deep model while losing at most `loss_points`."""
    p, y = fast.complaint[rows], labels[rows]
    fast_d, deep_d = fast.decision[rows].astype(bool), deep.decision[rows].astype(bool)
    target = macro_f1(y, deep_d) - loss_points / 100
    edges = np.unique(np.concatenate([[0.0], np.quantile(p, np.linspace(0, 1, GRID)), [EVERYTHING.high]]))
    if macro_f1(y, fast_d) >= target:
        return NOTHING
    best, best_share = EVERYTHING, 1.0
    for i, low in enumerate(edges):
        for high in edges[i + 1:]:
            inside = (p >= low) & (p < high)
            share = float(inside.mean())
            if share >= best_share:
                break  # wider bands from this low only send more
            if macro_f1(y, np.where(inside, deep_d, fast_d)) >= target:
                best, best_share = Band(float(low), float(high)), share
                break
    return best


def merge(band: Band, fast: OutOfFold, deep: OutOfFold, rows: np.ndarray) -> np.ndarray:
    """Marks, among `rows`, those the deep model decides; returns the boolean mask over all rows."""
    mask = np.zeros(len(fast.complaint), dtype=bool)
    mask[rows] = band.contains(fast.complaint[rows])
    return mask


def cross_validate_cascade(frame: pd.DataFrame, fast: OutOfFold, deep: OutOfFold, seed: int,
                           loss_points: float = FIT_LOSS_POINTS) -> dict[str, object]:
    """Each fold decided by its own cross-fitted band; the protocol's JSON plus the loss against deep alone."""
    if not np.array_equal(fast.fold, deep.fold):
        raise ValueError("the fast and deep out-of-fold scores come from different folds: rerun both "
                         "`earlywarn evaluate --model fast` and `--model deep` with the same seed and folds")
    labels, severity = frame["label"].to_numpy(), frame["severity"].to_numpy()
    folds = int(fast.fold.max()) + 1
    deep_rows = np.zeros(len(labels), dtype=bool)
    bands = []
    for k in range(folds):
        band = choose_band(fast, deep, labels, np.flatnonzero(fast.fold != k), loss_points)
        deep_rows |= merge(band, fast, deep, np.flatnonzero(fast.fold == k))
        bands.append({"fold": k, "low": round(band.low, 4), "high": round(band.high, 4)})
    pick = lambda a, b: np.where(deep_rows, a, b)  # noqa: E731
    oof = OutOfFold(pick(deep.complaint, fast.complaint), pick(deep.decision, fast.decision),
                    pick(deep.severity, fast.severity), fast.fold)
    per_fold = [fold_metrics(labels, severity, oof, oof.fold == k) for k in range(folds)]
    summary = summarise(frame, oof, per_fold, folds, seed)
    deep_alone = float(np.mean([macro_f1(labels[oof.fold == k], deep.decision[oof.fold == k]) for k in range(folds)]))
    return {
        **summary,
        "deep_alone_macro_f1": round(deep_alone, 4),
        "macro_f1_loss_points_vs_deep": round(100 * (deep_alone - float(summary["complaint_macro_f1"])), 2),  # type: ignore[arg-type]
        "rescored_share": round(float(deep_rows.mean()), 4),
        "bands": bands,
    }
