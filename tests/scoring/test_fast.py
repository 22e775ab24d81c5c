import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipeline.errors import ModelNotTrainedError
from pipeline.schema import CueLabel, Message, MessageScore, Severity
from pipeline.scoring import FastScorer, Scorer

ANGRY = Message(
    id="angry",
    text="Third time calling about this!!! You promised a refund 2 weeks ago. I want a manager or I'm closing my account.",
)
POLITE = Message(id="polite", text="Hi there, what time does the Leeds store open on Sunday?")


def test_fast_scorer_honours_the_scorer_interface(fast_scorer):
    assert isinstance(fast_scorer, Scorer)
    assert fast_scorer.score([]) == []


def test_scores_come_back_in_order_with_every_field(fast_scorer):
    scores = fast_scorer.score([ANGRY, POLITE])
    assert [s.id for s in scores] == ["angry", "polite"]
    for s in scores:
        assert isinstance(s, MessageScore)
        assert 0.0 <= s.complaint_probability <= 1.0 and 0.0 <= s.dissatisfaction <= 1.0
        assert s.is_complaint == (s.complaint_probability >= s.threshold)
        assert set(s.severity_probabilities) == {level.name for level in Severity}
        assert sum(s.severity_probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert s.model_version == fast_scorer.version


def test_an_angry_complaint_outranks_a_polite_question(fast_scorer):
    angry, polite = fast_scorer.score([ANGRY, POLITE])
    assert angry.complaint_probability > polite.complaint_probability
    assert angry.dissatisfaction > polite.dissatisfaction
    assert angry.is_complaint and angry.severity is not Severity.none
    assert not polite.is_complaint and polite.severity is Severity.none


def test_cues_explain_the_score_with_exact_offsets(fast_scorer):
    (angry,) = fast_scorer.score([ANGRY])
    labels = {c.label for c in angry.cues}
    assert {CueLabel.escalation_demand, CueLabel.churn_threat, CueLabel.broken_promise} <= labels
    for cue in angry.cues:
        assert ANGRY.text[cue.start : cue.end] == cue.text
        assert cue.explanation


def test_generalises_to_tweets_it_never_saw(fast_scorer, complaint_tweets, training_sample):
    unseen = complaint_tweets[~complaint_tweets["tweet_id"].isin(training_sample["tweet_id"])].sample(600, random_state=3)
    scores = fast_scorer.score_texts(unseen["tweet_id"].tolist(), unseen["text"].tolist())
    auroc = roc_auc_score(unseen["label"], [s.complaint_probability for s in scores])
    assert auroc > 0.85


def test_save_and_load_reproduce_the_scores(fast_scorer, tmp_path):
    folder = fast_scorer.save(tmp_path / "fast")
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["version"] == fast_scorer.version and meta["feature_names"]
    loaded = FastScorer.load(folder, extractor=fast_scorer.extractor)
    before = [s.complaint_probability for s in fast_scorer.score([ANGRY, POLITE])]
    after = [s.complaint_probability for s in loaded.score([ANGRY, POLITE])]
    np.testing.assert_allclose(before, after)


def test_a_configured_threshold_overrides_the_tuned_one(fast_scorer, tmp_path):
    folder = fast_scorer.save(tmp_path / "fast")
    strict = FastScorer.load(folder, threshold=0.999, extractor=fast_scorer.extractor)
    assert not strict.score([POLITE])[0].is_complaint
    assert strict.score([ANGRY])[0].threshold == 0.999


def test_loading_an_untrained_model_says_how_to_train_it(tmp_path):
    with pytest.raises(ModelNotTrainedError, match="earlywarn train --model fast"):
        FastScorer.load(tmp_path / "nothing-here")
