import numpy as np
import pytest
from sklearn.base import clone

from pipeline.schema import Severity
from pipeline.scoring.fast_model import FastComplaintModel, FastPrediction, decide_severity, dissatisfaction


def test_estimator_params_round_trip():
    model = FastComplaintModel(C=3.0, char_ngrams=(3, 5))
    assert clone(model).get_params() == model.get_params()


def test_severity_distribution_is_consistent_with_complaint_probability(fast_scorer, complaint_tweets):
    from pipeline.scoring.fast_model import feature_frame

    texts = complaint_tweets["text"].head(200).tolist()
    frame = feature_frame(texts, np.asarray(fast_scorer.extractor.featurize(texts)), fast_scorer.meta.feature_names)
    prediction = fast_scorer.model.predict_all(frame)
    assert prediction.severity.shape == (200, len(Severity))
    np.testing.assert_allclose(prediction.severity.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(prediction.severity[:, 0], 1.0 - prediction.complaint)


def test_the_direct_inference_path_gives_exactly_what_sklearns_own_transform_and_heads_give(fast_scorer, complaint_tweets):
    from pipeline.scoring.fast_model import feature_frame

    texts = complaint_tweets["text"].sample(300, random_state=3).tolist()
    frame = feature_frame(texts, np.asarray(fast_scorer.extractor.featurize(texts)), fast_scorer.meta.feature_names)
    model = fast_scorer.model
    through_sklearn = model.features_.transform(frame)
    direct = model.feature_matrix(frame)
    assert direct.shape == through_sklearn.shape and abs(direct - through_sklearn).max() == 0.0
    prediction = model.predict_all(frame)
    complaint = model.calibrator_.predict(model.complaint_head_.predict_proba(through_sklearn)[:, 1])
    np.testing.assert_allclose(prediction.complaint, complaint, atol=1e-12)
    levels = model.severity_head_.predict_proba(through_sklearn)
    np.testing.assert_allclose(prediction.severity[:, 1:], complaint[:, None] * levels, atol=1e-12)


def test_a_model_saved_before_its_heads_were_stacked_loads_and_predicts_the_same(fast_scorer, complaint_tweets):
    import pickle

    from pipeline.scoring.fast_model import feature_frame

    texts = complaint_tweets["text"].head(50).tolist()
    frame = feature_frame(texts, np.asarray(fast_scorer.extractor.featurize(texts)), fast_scorer.meta.feature_names)
    older = pickle.loads(pickle.dumps(fast_scorer.model))
    del older.heads_
    reloaded = pickle.loads(pickle.dumps(older))
    np.testing.assert_array_equal(reloaded.predict_all(frame).severity, fast_scorer.model.predict_all(frame).severity)


def test_severity_is_none_exactly_when_not_flagged():
    prediction = FastPrediction(
        complaint=np.array([0.9, 0.2]),
        severity=np.array([[0.1, 0.1, 0.1, 0.6, 0.1], [0.8, 0.05, 0.05, 0.05, 0.05]]),
    )
    severities = decide_severity(prediction, np.array([True, False]))
    assert list(severities) == [Severity.accusation, Severity.none]


def test_dissatisfaction_rises_with_severity_and_negativity():
    def one(p, given, neg=0.0):
        given = np.asarray(given) / np.sum(given)
        pred = FastPrediction(np.array([p]), np.concatenate([[1 - p], p * given])[None, :])
        return float(dissatisfaction(pred, np.array([neg]))[0])

    mild, harsh = one(0.9, [1, 0, 0, 0]), one(0.9, [0, 0, 0, 1])
    assert 0.0 <= mild < harsh <= 1.0
    assert one(0.05, [1, 1, 1, 1], neg=0.8) > one(0.05, [1, 1, 1, 1], neg=0.0)


def test_fit_needs_both_classes(complaint_tweets):
    from pipeline.scoring.fast_model import feature_frame

    only_negative = complaint_tweets[complaint_tweets["label"] == 0].head(50)
    frame = feature_frame(only_negative["text"].tolist(), np.zeros((50, 2)), ["a", "b"])
    with pytest.raises(ValueError):
        FastComplaintModel(calibration_folds=2).fit(frame, only_negative["label"])


def test_a_teacher_passes_its_judgement_on_unlabelled_words_to_the_model(training_sample, cue_extractor):
    """Models taught by a teacher that judges every unlabelled message with a made-up word a complaint
    (or not), against the same model without a teacher."""
    from pipeline.scoring.fast_model import TeacherLabels, feature_frame
    from pipeline.signals import cue_feature_names

    rows = training_sample.sample(300, random_state=1)
    names = cue_feature_names()
    frame = feature_frame(rows["text"].tolist(), np.asarray(cue_extractor.featurize(rows["text"].tolist())), names)
    pool = [f"the zorblax thing happened again on flight {n}" for n in range(60)]
    pool_frame = feature_frame(pool, np.asarray(cue_extractor.featurize(pool)), names)
    probe = feature_frame(["zorblax zorblax"], np.asarray(cue_extractor.featurize(["zorblax zorblax"])), names)

    def taught_by(complaint: float) -> FastComplaintModel:
        severity = np.tile([1 - complaint, 0.0, 0.0, complaint, 0.0], (60, 1))
        teacher = TeacherLabels(pool_frame, np.full(60, complaint), severity)
        return FastComplaintModel(calibration_folds=3).fit(frame, rows["label"], rows["severity"], teacher)

    plain = FastComplaintModel(calibration_folds=3).fit(frame, rows["label"], rows["severity"])
    raw = lambda model: model.complaint_head_.predict_proba(model.features_.transform(probe))[0, 1]  # noqa: E731
    taught = taught_by(1.0)
    assert raw(taught) > 3 * raw(plain)
    # its severity is the teacher's likeliest level on the messages it called complaints
    assert taught.severity_head_.predict(taught.features_.transform(probe))[0] == Severity.accusation
    assert raw(taught_by(0.0)) < raw(plain)


def test_teacher_scores_must_match_the_messages(training_sample, cue_extractor):
    from pipeline.scoring.fast_model import TeacherLabels, feature_frame

    frame = feature_frame(["one", "two"], np.zeros((2, 1)), ["a"])
    with pytest.raises(ValueError, match="do not match the 2 messages"):
        TeacherLabels(frame, np.array([0.5]), np.full((1, 5), 0.2))


def test_the_severity_head_fitted_on_used_columns_is_the_all_column_fit(fast_scorer, training_sample, cue_extractor):
    """Columns no training row uses are left out of the lbfgs fit and get weight 0; the model is the same."""
    from sklearn.linear_model import LogisticRegression

    from pipeline.scoring.fast_model import _fit_on_used_columns, feature_frame
    from pipeline.signals import cue_feature_names

    model = fast_scorer.model
    rated = training_sample[(training_sample["label"] == 1) & (training_sample["severity"] >= 1)]
    texts = rated["text"].tolist()
    x = model.feature_matrix(feature_frame(texts, np.asarray(cue_extractor.featurize(texts)), cue_feature_names()))
    y = rated["severity"].to_numpy()
    make = lambda: LogisticRegression(C=model.severity_C, class_weight="balanced", max_iter=5000)  # noqa: E731
    full = make().fit(x, y)
    used = _fit_on_used_columns(make(), x, y, None)

    unused = x.getnnz(axis=0) == 0
    assert unused.sum() > x.shape[1] // 2  # most hashed columns are empty for a few hundred complaints
    assert used.coef_.shape == full.coef_.shape and used.n_features_in_ == x.shape[1]
    assert not used.coef_[:, unused].any() and np.abs(full.coef_[:, unused]).max() < 1e-12
    sample = training_sample["text"].tolist()[:300]
    probe = model.feature_matrix(feature_frame(sample, np.asarray(cue_extractor.featurize(sample)), cue_feature_names()))
    assert np.abs(used.predict_proba(probe) - full.predict_proba(probe)).max() < 1e-8
    assert (used.predict(probe) == full.predict(probe)).all()
