"""The deep protocol end to end on a small real sample: folds, both variants, cross-fitted calibration."""

from __future__ import annotations

import numpy as np

from pipeline.training.deep import DeepConfig
from pipeline.training.deep_cv import RawOutOfFold, cross_fit, cross_validate_deep, run_key, summarise_deep


def test_two_fold_protocol_reports_fp32_and_int8_on_the_same_folds(training_sample):
    rows = training_sample.sample(120, random_state=5).reset_index(drop=True)
    raw = cross_validate_deep(rows, folds=2, config=DeepConfig(epochs=1, batch_size=16), max_steps=3)
    result = summarise_deep(rows, raw, seed=13, fast=np.linspace(0.01, 0.99, 120))
    assert set(result) == {"fp32", "int8", "fp32+fast", "int8+fast", "int8_macro_f1_loss_points",
                           "int8_macro_f1_loss_points_stacked"}
    for variant in ("fp32", "int8", "fp32+fast", "int8+fast"):
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


def test_finished_folds_are_reused_by_a_rerun_and_only_under_the_same_key(training_sample, tmp_path):
    rows = training_sample.sample(60, random_state=8).reset_index(drop=True)
    config = DeepConfig(epochs=1, batch_size=16)
    first = cross_validate_deep(rows, folds=2, config=config, max_steps=2, checkpoints=tmp_path)
    stored = sorted(tmp_path.glob("*-fold*.npz"))
    assert [p.name.split("-")[-1] for p in stored] == ["fold0.npz", "fold1.npz"]
    with np.load(stored[0]) as fold:
        tampered = {name: fold[name] for name in fold.files}
    tampered["fp32_complaint"] = np.full_like(tampered["fp32_complaint"], 0.123)
    np.savez(stored[0], **tampered)
    again = cross_validate_deep(rows, folds=2, config=config, max_steps=2, checkpoints=tmp_path)
    fold0 = again["fp32"].fold == 0
    assert np.allclose(again["fp32"].complaint[fold0], 0.123)  # read back, not retrained
    assert np.allclose(again["int8"].complaint, first["int8"].complaint)
    key = run_key(rows, 2, 13, config, 2)
    assert stored[0].name.startswith(key)
    assert run_key(rows, 2, 13, DeepConfig(epochs=2, batch_size=16), 2) != key
    assert run_key(rows.assign(label=1 - rows["label"]), 2, 13, config, 2) != key


def test_a_new_quantisation_is_measured_on_the_checkpointed_fold_models(training_sample, tmp_path, monkeypatch):
    from pipeline.scoring.onnx_export import Quantization
    from pipeline.training import deep_cv

    rows = training_sample.sample(60, random_state=9).reset_index(drop=True)
    config = DeepConfig(epochs=1, batch_size=16)
    first = cross_validate_deep(rows, folds=2, config=config, max_steps=2, checkpoints=tmp_path)
    assert len(list(tmp_path.glob("*-fold*.pt"))) == 2

    def no_training(*_args, **_kwargs):
        raise AssertionError("the fold models are checkpointed: nothing should be fine-tuned again")

    monkeypatch.setattr(deep_cv, "finetune", no_training)
    monkeypatch.setattr(deep_cv, "QUANTIZATION", Quantization(per_channel=True))
    again = cross_validate_deep(rows, folds=2, config=config, max_steps=2, checkpoints=tmp_path)
    assert np.allclose(again["fp32"].complaint, first["fp32"].complaint, atol=1e-6)
    assert len(list(tmp_path.glob("*-int8-per-channel-fold*.npz"))) == 2
    assert np.abs(again["int8"].complaint - first["fp32"].complaint).max() < 0.1
