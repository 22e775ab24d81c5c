"""The deep protocol end to end on a small real sample: folds, both variants, cross-fitted calibration."""

from __future__ import annotations

import numpy as np

from pipeline.training.deep import DeepConfig
from pipeline.training.deep_cv import RawOutOfFold, cross_fit, cross_validate_deep


def test_two_fold_protocol_reports_fp32_and_int8_on_the_same_folds(training_sample):
    rows = training_sample.sample(120, random_state=5).reset_index(drop=True)
    result, raw = cross_validate_deep(rows, folds=2, config=DeepConfig(epochs=1, batch_size=16), max_steps=3)
    for variant in ("fp32", "int8"):
        summary = result[variant]
        assert summary["folds"] == 2 and summary["n"] == 120
        assert 0.0 <= summary["complaint_macro_f1"] <= 1.0 and 0.0 <= summary["ece"] <= 1.0
        assert set(summary["per_domain"])
    assert np.array_equal(raw["fp32"].fold, raw["int8"].fold)
    assert np.abs(raw["fp32"].complaint - raw["int8"].complaint).max() < 0.1  # int8 tracks fp32
    assert isinstance(result["int8_macro_f1_loss_points"], float)


def test_cross_fitted_calibration_never_uses_a_folds_own_labels():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    fold = np.repeat([0, 1], 200)
    scores = np.where(fold == 0, labels * 0.6 + 0.2, 0.5)  # fold 1 carries no signal at all
    oof = cross_fit(RawOutOfFold(scores.astype(float), np.full((400, 5), 0.2), fold), labels)
    # fold 1's constant scores are calibrated by fold 0's map: one value for all, whatever fold 1's labels
    assert np.unique(oof.complaint[fold == 1]).size == 1
    assert (oof.severity[oof.decision == 0] == 0).all()
