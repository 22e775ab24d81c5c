"""The seed-ensemble trial: fold-major training stops where it is told, a partial run reports only the folds every
seed finished, the checkpoints read back are the cross-validation's own, and the average is taken in logits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.training.deep import DeepConfig
from pipeline.training.deep_cv import RawOutOfFold, cross_validate_deep, fold_assignment
from tests.scripts.script_loader import load_script

CONFIG = DeepConfig(epochs=1, batch_size=16)
STEPS = 2


@pytest.fixture(scope="module")
def trial():
    return load_script("deep_seed_ensemble")


def test_the_average_is_taken_in_logits_and_keeps_the_folds(trial) -> None:
    fold = np.array([0, 1, 1])
    sure = RawOutOfFold(np.array([0.9, 0.99, 0.2]), np.tile([1.0, 0, 0, 0, 0], (3, 1)), fold)
    unsure = RawOutOfFold(np.array([0.5, 0.5, 0.2]), np.tile([0, 1.0, 0, 0, 0], (3, 1)), fold)
    both = trial.average([sure, unsure])
    assert np.allclose(both.complaint[:2], 1 / (1 + np.sqrt([1 / 9, 1 / 99])))  # geometric mean of the odds
    assert both.complaint[2] == pytest.approx(0.2)
    assert np.allclose(both.severity[:, :2], 0.5) and np.array_equal(both.fold, fold)
    assert np.allclose(trial.average([sure, sure]).complaint, sure.complaint)


def test_a_partial_run_reports_the_folds_every_seed_finished(trial, training_sample, tmp_path) -> None:
    rows = training_sample.sample(60, random_state=3).reset_index(drop=True)
    seeds = [13, 14]
    for seed in seeds:  # fold 0 only
        trial.train_through(rows, 0, 2, 13, replace(CONFIG, seed=seed), tmp_path, STEPS)
    assert trial.finished_folds(rows, 2, 13, replace(CONFIG, seed=14), tmp_path, STEPS) == {0}
    with pytest.raises(ValueError, match="at least two"):
        trial.report(rows, seeds, 2, 13, CONFIG, tmp_path, STEPS)

    for seed in seeds:
        trial.train_through(rows, 1, 2, 13, replace(CONFIG, seed=seed), tmp_path, STEPS)
    result = trial.report(rows, seeds, 2, 13, CONFIG, tmp_path, STEPS)
    assert result["folds_finished"] == [0, 1]
    assert set(result) >= {"seed 13", "seed 14", "average of seeds [13, 14]"}
    for entry in ("seed 13", "seed 14", "average of seeds [13, 14]"):
        assert 0.0 <= result[entry]["fp32"]["complaint_macro_f1"] <= 1.0

    fold_of = fold_assignment(rows, 2, 13)
    keep = np.isin(fold_of, [0, 1])  # every row: both folds finished
    loaded = trial.load_finished(rows, 2, 13, CONFIG, tmp_path, fold_of, keep, STEPS)
    assert len(loaded["fp32"].complaint) == keep.sum() and set(loaded["int8"].fold) == {0, 1}
    other = trial.load_finished(rows, 2, 13, replace(CONFIG, seed=14), tmp_path,
                                fold_of, keep, STEPS)
    assert not np.allclose(loaded["fp32"].complaint, other["fp32"].complaint)  # the seed changes the network

    full = cross_validate_deep(rows, folds=2, config=CONFIG, max_steps=STEPS, checkpoints=tmp_path)  # reads back
    assert np.allclose(full["fp32"].complaint, loaded["fp32"].complaint)
    assert np.allclose(full["int8"].severity, loaded["int8"].severity)
