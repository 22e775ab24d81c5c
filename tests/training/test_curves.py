"""The curve tables dvc plots draws, checked against hand-counted cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.scoring.calibration import expected_calibration_error
from pipeline.training.curves import calibration_table, precision_recall_table, workload_table, write_curves


def test_precision_recall_and_workload_by_hand():
    labels = [0, 0, 1, 1]
    probabilities = [0.1, 0.4, 0.35, 0.8]
    table = precision_recall_table(labels, probabilities).set_index("threshold")
    # at 0.35: flagged 0.35, 0.4, 0.8 -> two of three are complaints, both complaints found, 3 of 4 flagged
    assert table.loc[0.35].tolist() == pytest.approx([2 / 3, 1.0, 0.75])
    # at 0.8: one flagged, a complaint, half the complaints found
    assert table.loc[0.8].tolist() == pytest.approx([1.0, 0.5, 0.25])
    assert table.loc[0.1, "flagged_share"] == 1.0


def test_the_curve_is_thinned_to_the_points_asked_for():
    rng = np.random.default_rng(0)
    probabilities = rng.random(5000)
    labels = (rng.random(5000) < probabilities).astype(int)
    table = precision_recall_table(labels, probabilities, points=50)
    assert len(table) == 50 and table["threshold"].is_monotonic_increasing
    assert table["recall"].iloc[0] == 1.0 and table["flagged_share"].is_monotonic_decreasing


def test_calibration_bins_are_the_ones_ece_sums_over():
    rng = np.random.default_rng(1)
    probabilities = rng.random(4000)
    labels = (rng.random(4000) < probabilities ** 2).astype(int)  # over-confident: truth is p squared
    table = calibration_table(labels, probabilities)
    assert table["count"].sum() == 4000 and len(table) == 15
    ece = float((table["count"] / 4000 * (table["fraction_positive"] - table["mean_predicted"]).abs()).sum())
    assert ece == pytest.approx(expected_calibration_error(labels, probabilities), abs=1e-5)
    assert (table["fraction_positive"] < table["mean_predicted"]).iloc[3:].all()


def test_write_curves_lays_out_the_files_dvc_yaml_names(tmp_path):
    written = write_curves([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.5], tmp_path / "plots", "fast")
    assert [p.name for p in written] == ["fast-pr.csv", "fast-calibration.csv"]
    assert list(pd.read_csv(written[0]).columns) == ["threshold", "precision", "recall", "flagged_share"]
    assert list(pd.read_csv(written[1]).columns) == ["mean_predicted", "fraction_positive", "count"]


def test_a_day_in_the_queue_by_hand():
    # 10 messages, 4 complaints: at 0.5 the model flags 3 complaints and 1 non-complaint
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    probabilities = [0.9, 0.8, 0.7, 0.2, 0.6, 0.4, 0.3, 0.1, 0.1, 0.05]
    table = workload_table(precision_recall_table(labels, probabilities), daily_messages=1000,
                           live_complaint_rate=0.1, minutes_per_flag=6).set_index("threshold")
    assert table.attrs["benchmark_complaint_rate"] == pytest.approx(0.4)
    at = table.loc[0.6]  # flagged: 0.9, 0.8, 0.7, 0.6
    assert (at.tpr, at.fpr) == (pytest.approx(0.75), pytest.approx(1 / 6))
    # live: 100 complaints, 900 others -> 75 + 150 flags a day, 22.5 hours at 6 minutes each
    assert at.flags_per_day == pytest.approx(225) and at.handler_hours == pytest.approx(22.5)
    assert at.live_precision == pytest.approx(75 / 225) and at.complaints_missed == pytest.approx(25)
    # the benchmark: TP 3, FP 1, FN 1, TN 5 -> F1 6/8 and 10/12
    assert at.benchmark_macro_f1 == pytest.approx((6 / 8 + 10 / 12) / 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        workload_table(precision_recall_table(labels, probabilities), 1000, 1.5, 6)
