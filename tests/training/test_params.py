"""params.yaml: the shipped file fits the constructors it feeds, a bad key is refused by name, and
what it sets reaches training."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT
from pipeline.errors import ParamsError
from pipeline.scoring.fast_model import FastComplaintModel
from pipeline.training.params import DeepParams, FastParams, TrainingParams, load_params


def test_the_shipped_file_sets_only_what_the_constructors_take():
    params = load_params(PROJECT_ROOT / "params.yaml")
    model = FastComplaintModel(**params.fast.overrides())
    assert model.get_params()["char_ngrams"] == tuple(params.fast.char_ngrams)
    from pipeline.training.deep import DeepConfig

    assert set(params.deep.overrides()) <= {f.name for f in fields(DeepConfig)}
    assert set(FastParams.model_fields) <= set(FastComplaintModel().get_params())
    assert set(DeepParams.model_fields) <= {f.name for f in fields(DeepConfig)}


def test_a_missing_file_means_the_code_defaults(tmp_path):
    params = load_params(tmp_path / "absent.yaml")
    assert params == TrainingParams()
    assert params.fast.overrides() == {} and params.evaluation.folds == 10


def test_an_unknown_key_is_refused_with_the_keys_that_exist(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("fast:\n  learning_rate: 0.1\n")
    with pytest.raises(ParamsError, match=r"\[E019\].*'fast.learning_rate' is not a parameter of that section\. Use one of C, severity_C"):
        load_params(path)


def test_a_wrong_value_is_refused_by_name(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("deep:\n  epochs: 0\n")
    with pytest.raises(ParamsError, match=r"'deep.epochs' input should be greater than or equal to 1"):
        load_params(path)
    path.write_text("fast: [C, 1]\n")
    with pytest.raises(ParamsError, match=r"'fast'"):
        load_params(path)
    path.write_text("fast:\n  C: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(path)
    path.write_text("- fast\n- deep\n")
    with pytest.raises(ParamsError, match="holds a list, not sections of keys. Write it as sections"):
        load_params(path)


@pytest.mark.parametrize(("text", "key", "reason"), [
    ("fast:\n  C: true\n", "fast.C", "valid number"),  # YAML's true is not 1.0
    ("fast:\n  C: .inf\n", "fast.C", "finite number"),
    ("deep:\n  epochs: 2.5\n", "deep.epochs", "valid integer"),
    ("fast:\n  word_ngrams: [3, 1]\n", "fast.word_ngrams", "write them as \\[shortest, longest\\]"),
])
def test_values_training_would_misread_are_refused(tmp_path, text, key, reason):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=rf"'{key}' .*{reason}"):
        load_params(path)


def test_a_section_with_every_key_commented_out_keeps_the_defaults(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("fast:\n  # C: 3.0\nevaluation:\n  folds: 5\n")
    params = load_params(path)
    assert params.fast.overrides() == {} and params.evaluation.folds == 5


def test_what_the_file_sets_reaches_fast_training(settings, training_sample, tmp_path: Path):
    from pipeline.scoring.fast import FastScorer
    from pipeline.training.fast import train_fast

    path = tmp_path / "params.yaml"
    path.write_text("fast:\n  C: 0.5\n  calibration_folds: 3\n  word_ngrams: [1, 1]\n")
    local = settings.model_copy(update={"params_file": path, "models_dir": tmp_path / "models"})
    summary = train_fast(local, training_sample, track=False)
    stored = FastScorer.load(Path(str(summary["path"]))).meta.params
    assert (stored["C"], stored["calibration_folds"], stored["word_ngrams"]) == (0.5, 3, [1, 1])
    assert stored["char_ngrams"] == [2, 5]  # not set: the code's default


def test_the_gate_is_not_given_a_figure_for_a_model_trained_with_other_params(settings, models_dir, complaint_tweets):
    from pipeline.training.fast import _record

    local = settings.model_copy(update={"models_dir": models_dir})  # the session's model: calibration_folds=3
    refused = _record(local, complaint_tweets, 10, 0.9, params={}, distilled=False)  # evaluated with the default, 5
    assert refused is not None and refused["version"] is None
    assert "other values of calibration_folds than params.yaml gives now" in str(refused["not_recorded"])
    # nor for a model trained without a teacher when the evaluation was distilled
    taught = _record(local, complaint_tweets, 10, 0.9, params={"calibration_folds": 3}, distilled=True)
    assert taught is not None and taught["version"] is None
    assert "trained without a teacher" in str(taught["not_recorded"])
