"""Distillation's teachers: fold k's network for fold k in cross-validation, or a clear reason why none."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from pipeline.config import Settings
from pipeline.training.deep import DeepConfig
from pipeline.training.deep_cv import FoldTeachers, cross_validate_deep, fold_groups, teach_pool
from pipeline.training.deep_runs import teachers_path
from pipeline.training.distillation import customer_pool, fold_teachers


@pytest.fixture
def small_pool_settings(settings, tmp_path) -> Settings:
    params = tmp_path / "params.yaml"
    params.write_text("distillation:\n  pool_size: 40\n")
    return Settings(data_dir=settings.data_dir, models_dir=tmp_path / "models", params_file=params)


def _folds(tweets, folds, seed):
    fold = np.zeros(len(tweets), dtype=int)
    for k, (_, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(tweets, tweets["label"])):
        fold[test] = k
    return fold


def test_fold_teachers_say_why_they_cannot_teach(small_pool_settings, training_sample):
    tweets = training_sample.sample(100, random_state=2).reset_index(drop=True)
    assert "evaluate --model deep" in fold_teachers(small_pool_settings, tweets, 2)
    assert "--teacher-groups" in fold_teachers(small_pool_settings, tweets, 2)
    pool = customer_pool(small_pool_settings, tweets)
    folds = _folds(tweets, 2, small_pool_settings.seed)
    scores = np.full((2, 40), 0.7), np.full((2, 40, 5), 0.2)
    FoldTeachers(*scores, 1 - folds, pool.fingerprint, 2).save(teachers_path(small_pool_settings))
    assert "other folds" in fold_teachers(small_pool_settings, tweets, 2)
    FoldTeachers(*scores, folds, "another-pool", 2).save(teachers_path(small_pool_settings))
    assert "another pool" in fold_teachers(small_pool_settings, tweets, 2)

    FoldTeachers(*scores, folds, pool.fingerprint, 2).save(teachers_path(small_pool_settings))
    found = fold_teachers(small_pool_settings, tweets, 2)
    assert len(found.teachers) == 2 and found.pool_size == 40
    assert found.teachers[1].frame["text"].tolist() == pool.texts


def test_no_pool_means_no_distillation(settings, tmp_path, training_sample):
    params = tmp_path / "params.yaml"
    params.write_text("distillation:\n  pool_size: 0\n")
    off = Settings(data_dir=settings.data_dir, models_dir=tmp_path, params_file=params)
    assert "pool_size is 0" in fold_teachers(off, training_sample, 2)


def test_each_fold_network_scores_the_pool_and_the_scores_are_checkpointed(training_sample, tmp_path, monkeypatch):
    from pipeline.datasets.customer_pool import CustomerPool
    from pipeline.training import deep_cv

    rows = training_sample.sample(60, random_state=4).reset_index(drop=True)
    config = DeepConfig(epochs=1, batch_size=16)
    cross_validate_deep(rows, folds=2, config=config, max_steps=2, checkpoints=tmp_path)
    pool = CustomerPool(["I have been waiting two hours for a refund", "Thanks, lovely crew today"], drawn_from=2)
    monkeypatch.setattr(deep_cv, "finetune", lambda *_a, **_k: pytest.fail("the fold networks are checkpointed"))
    teachers = teach_pool(rows, pool, 2, 13, config, tmp_path, max_steps=2)
    assert teachers.complaint.shape == (2, 2) and teachers.severity.shape == (2, 2, 5) and teachers.networks == 2
    assert np.allclose(teachers.severity.sum(axis=2), 1.0, atol=1e-4)
    assert not np.allclose(teachers.complaint[0], teachers.complaint[1])  # two networks, two opinions
    assert np.array_equal(teachers.fold, _folds(rows, 2, 13))

    monkeypatch.setattr(deep_cv, "int8_scores", lambda *_: pytest.fail("the pool's scores are checkpointed"))
    again = teach_pool(rows, pool, 2, 13, config, tmp_path, max_steps=2)
    assert np.array_equal(again.complaint, teachers.complaint)


def test_grouped_teachers_never_saw_the_folds_they_teach(training_sample, tmp_path, monkeypatch):
    from pipeline.datasets.customer_pool import CustomerPool
    from pipeline.training import deep_cv

    rows = training_sample.sample(80, random_state=6).reset_index(drop=True)
    folds = _folds(rows, 4, 13)
    seen: list[set[str]] = []
    real = deep_cv.finetune

    def recording(texts, *args, **kwargs):
        seen.append(set(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(deep_cv, "finetune", recording)
    pool = CustomerPool(["Still no refund after three calls", "Great flight, thank you"], drawn_from=2)
    teachers = teach_pool(rows, pool, 4, 13, DeepConfig(epochs=1, batch_size=16), tmp_path, groups=2, max_steps=2)
    assert fold_groups(4, 2) == [[0, 1], [2, 3]] and teachers.networks == 2 and len(seen) == 2
    for j, members in enumerate(fold_groups(4, 2)):
        taught = set(rows["text"][np.isin(folds, members)])
        assert not taught & seen[j]  # the network teaching these folds never saw one of their tweets
        assert seen[j] == set(rows["text"]) - taught
    assert np.array_equal(teachers.complaint[0], teachers.complaint[1])
    assert not np.array_equal(teachers.complaint[1], teachers.complaint[2])
    with pytest.raises(ValueError, match="between 2 and 4"):
        fold_groups(4, 1)
