"""Precision-recall and reliability curves from out-of-fold predictions, written as the tables
`dvc plots` draws (dvc.yaml's top-level `plots`) and the threshold notebook reads.

Out-of-fold predictions are the honest ones: every tweet scored by the fold model that never saw
it, so the curves show what a queue would see on new messages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import precision_recall_curve

from pipeline.scoring.calibration import reliability_bins

#: points kept on the precision-recall curve (enough for a smooth line, small enough to commit)
PR_POINTS = 200


def precision_recall_table(labels: ArrayLike, probabilities: ArrayLike, points: int = PR_POINTS) -> pd.DataFrame:
    """threshold, precision, recall and flagged_share (the share of all messages at or above the
    threshold: the handlers' workload), at up to `points` thresholds spread evenly over the curve."""
    y = np.asarray(labels, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    precision, recall, thresholds = precision_recall_curve(y, p)
    # precision/recall have one more entry than thresholds (recall 0 at the end): drop it
    table = pd.DataFrame({"threshold": thresholds, "precision": precision[:-1], "recall": recall[:-1]})
    ordered = np.sort(p)
    table["flagged_share"] = 1.0 - np.searchsorted(ordered, thresholds, side="left") / len(p)
    if len(table) > points:
        table = table.iloc[np.unique(np.linspace(0, len(table) - 1, points).round().astype(int))]
    return table.round(6).reset_index(drop=True)


def calibration_table(labels: ArrayLike, probabilities: ArrayLike, bins: int = 15) -> pd.DataFrame:
    """mean_predicted, fraction_positive and count per equal-width bin (the bins ECE is measured on)."""
    rows = reliability_bins(labels, probabilities, bins)
    return pd.DataFrame(rows, columns=["mean_predicted", "fraction_positive", "count"]).round(6)


def write_curves(labels: ArrayLike, probabilities: ArrayLike, folder: Path, name: str) -> list[Path]:
    """`<name>-pr.csv` and `<name>-calibration.csv` under `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / f"{name}-pr.csv", folder / f"{name}-calibration.csv"]
    precision_recall_table(labels, probabilities).to_csv(written[0], index=False)
    calibration_table(labels, probabilities).to_csv(written[1], index=False)
    return written


def workload_table(curve: pd.DataFrame, daily_messages: float, live_complaint_rate: float,
                   minutes_per_flag: float) -> pd.DataFrame:
    """A precision-recall table (`precision_recall_table`) as a day in a queue whose stream has
    `live_complaint_rate` complaints: flags, handler hours, complaints caught and missed, and the
    precision the queue would see, per threshold.

    Recall is the true-positive rate and does not depend on the base rate; the false-positive rate is
    recovered from the share flagged (flagged = recall x base + fpr x (1 - base), with the benchmark's
    base rate = precision x flagged share / recall), then both are reweighted to the live rate. The
    benchmark's own macro-F1 comes along, to compare with the threshold training chose."""
    if not 0 < live_complaint_rate < 1:
        raise ValueError(f"live_complaint_rate is {live_complaint_rate}: give the share of complaints, between 0 and 1")
    first = curve.iloc[0]
    base = float(first.precision * first.flagged_share / first.recall)
    tpr = curve.recall
    fpr = ((curve.flagged_share - tpr * base) / (1 - base)).clip(0, 1)
    live = live_complaint_rate
    flagged = live * tpr + (1 - live) * fpr
    true_negatives = (1 - base) - (curve.flagged_share - tpr * base)
    table = pd.DataFrame({
        "threshold": curve.threshold, "tpr": tpr, "fpr": fpr,
        "benchmark_precision": curve.precision,
        "benchmark_macro_f1": (2 * tpr * base / (curve.flagged_share + base)
                               + 2 * true_negatives / ((1 - curve.flagged_share) + (1 - base))) / 2,
        "live_precision": (live * tpr / flagged).where(flagged > 0),
        "flags_per_day": daily_messages * flagged,
        "handler_hours": daily_messages * flagged * minutes_per_flag / 60,
        "complaints_caught": daily_messages * live * tpr,
        "complaints_missed": daily_messages * live * (1 - tpr),
    })
    table.attrs["benchmark_complaint_rate"] = base
    return table
