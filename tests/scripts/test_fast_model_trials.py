"""The fast model's trials: the served column is the protocol's own figure, the NB ratios weight the columns that tell
the classes apart, and the cross-fitted severity offsets are read only on folds that were run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from pipeline.scoring.fast_model import FastComplaintModel, feature_frame
from pipeline.signals import cue_feature_names
from pipeline.training.evaluation import cross_validate_fast
from tests.scripts.script_loader import load_script

PARAMS = {"calibration_folds": 3, "word_features": 2**12, "char_features": 2**12}  # small hashed spaces: quick fits


@pytest.fixture(scope="module")
def trials():
    return load_script("fast_model_trials")


@pytest.fixture(scope="module")
def tweets(training_sample) -> pd.DataFrame:
    """Half the shared sample, every severity level kept: three folds of both models fit in seconds."""
    return training_sample.groupby("severity", group_keys=False).sample(frac=0.5, random_state=5).reset_index(drop=True)


@pytest.fixture(scope="module")
def cues(tweets, cue_extractor) -> np.ndarray:
    return np.asarray(cue_extractor.featurize(tweets["text"].tolist()))


@pytest.fixture(scope="module")
def found(trials, tweets, cues):
    models = {trials.SERVED: lambda: FastComplaintModel(**PARAMS),
              trials.NAIVE_BAYES: lambda: trials.NaiveBayesWeighted(**PARAMS),
              trials.ORDINAL: lambda: trials.OrdinalSeverity(**PARAMS)}
    return trials.run_folds(tweets, cues, 3, 13, models, only=[0, 1, 2])


def test_naive_bayes_ratios_weight_the_telling_columns_and_leave_the_cues(trials) -> None:
    # columns: in both classes alike, in complaints only, in non-complaints only; then one cue column
    matrix = sp.csr_matrix(np.array([[1.0, 1.0, 0.0, 3.0], [1.0, 1.0, 0.0, -2.0],
                                     [1.0, 0.0, 1.0, 0.5], [1.0, 0.0, 1.0, 0.0]]))
    scale = trials.NaiveBayes(alpha=0.05).scale(matrix, np.array([1, 1, 0, 0]), cue_columns=1)
    assert scale[0] == pytest.approx(0.0)
    assert scale[1] == pytest.approx(scale[2]) and scale[1] > 2.0
    assert scale[3] == 1.0
    binary = trials.NaiveBayes(alpha=0.05, binary=True).scale(matrix * 5.0, np.array([1, 1, 0, 0]), cue_columns=1)
    assert np.allclose(binary, trials.NaiveBayes(alpha=0.05, binary=True).scale(matrix, np.array([1, 1, 0, 0]), 1))


def test_the_served_column_is_the_protocols_own_figure(trials, tweets, cues, found) -> None:
    summary, _ = cross_validate_fast(tweets, cues, cue_feature_names(), folds=3, params=PARAMS)
    result = trials.compare(tweets, found, trials.NaiveBayes())

    served = result[trials.SERVED]
    for name in ("complaint_macro_f1", "severity_macro_f1", "auroc"):
        assert served[name] == summary[name]
    assert served["ece"] == summary["ece"]
    weighted = found[trials.NAIVE_BAYES]
    assert ((weighted.complaint >= 0) & (weighted.complaint <= 1)).all()
    assert not np.allclose(weighted.complaint, found[trials.SERVED].complaint)  # the weighting changed the model
    offsets = result["severity offsets, cross-fitted"]
    assert len(offsets["offsets_per_fold"]) == 3 and all(o[0] == 0.0 for o in offsets["offsets_per_fold"])
    assert 0.0 <= offsets["severity_macro_f1"] <= 1.0


def test_offsets_are_fitted_and_read_only_on_the_folds_run(trials, tweets, found) -> None:
    served = found[trials.SERVED]
    partial = replace(served, fold=np.where(served.fold == 1, -1, served.fold))  # as if run with --folds 0 2
    levels, offsets = trials.cross_fitted_levels(partial, tweets["severity"].to_numpy(dtype=int))
    assert len(offsets) == 2
    assert (levels[partial.fold == -1] == 0).all() and (levels[~partial.flagged] == 0).all()
    assert (levels[partial.flagged & (partial.fold >= 0)] >= 1).all()
    ran = trials.summary(partial, levels, tweets)
    assert ran["complaint_macro_f1"] != trials.summary(served, trials.likeliest_levels(served), tweets)["complaint_macro_f1"]


def test_the_ordinal_heads_change_severity_only_and_give_a_distribution_over_the_levels(trials, found) -> None:
    served, ordinal = found[trials.SERVED], found[trials.ORDINAL]
    assert np.array_equal(ordinal.complaint, served.complaint) and np.array_equal(ordinal.flagged, served.flagged)
    assert (ordinal.severity >= 0).all()
    assert np.allclose(ordinal.severity.sum(axis=1), 1.0)
    assert not np.allclose(ordinal.severity, served.severity)


def test_an_ordinal_level_is_the_difference_between_neighbouring_cuts(trials, tweets, cues) -> None:
    inputs = feature_frame(tweets["text"].tolist(), cues, cue_feature_names())
    model = trials.OrdinalSeverity(**PARAMS).fit(inputs, tweets["label"], tweets["severity"])
    x = model.feature_matrix(inputs.iloc[:20])
    above = np.column_stack([h.predict_proba(x)[:, 1] for h in model.cuts_])
    given = model.predict_all(inputs.iloc[:20]).severity[:, 1:]
    given /= given.sum(axis=1, keepdims=True)
    ordered = (above[:, 0] >= above[:, 1]) & (above[:, 1] >= above[:, 2])  # rows where the cuts do not cross
    assert ordered.any()
    expected = np.column_stack([1.0 - above[:, 0], above[:, 0] - above[:, 1], above[:, 1] - above[:, 2],
                                above[:, 2]])
    assert np.allclose(given[ordered], expected[ordered], atol=1e-9)
