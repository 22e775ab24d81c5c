"""The fixed-length feature vector the models train on."""

from __future__ import annotations

import math

import pytest

from pipeline.schema import Cue, CueLabel
from pipeline.signals import CueExtractor, cue_feature_names, cue_features
from pipeline.signals.features import WEIGHT_CAP, caps_word_ratio
from pipeline.signals.sentiment import score_text


def _cue(label: CueLabel, weight: float) -> Cue:
    return Cue(label=label, start=0, end=1, text="x", weight=weight, explanation="test")


def _named(cues: list[Cue], text: str) -> dict[str, float]:
    return dict(zip(cue_feature_names(), cue_features(cues, text), strict=True))


def test_names_and_vector_line_up() -> None:
    names = cue_feature_names()
    assert len(names) == len(set(names)) == 2 * len(CueLabel) + 8
    assert len(cue_features([], "hello")) == len(names)


def test_weights_sum_per_label_and_are_capped() -> None:
    features = _named([_cue(CueLabel.churn_threat, 0.9)] * 5 + [_cue(CueLabel.sarcasm, 0.4)], "x")
    assert features["cue_churn_threat_weight"] == WEIGHT_CAP
    assert features["cue_churn_threat_present"] == 1.0
    assert features["cue_sarcasm_weight"] == pytest.approx(0.4)
    assert features["cue_profanity_weight"] == 0.0 and features["cue_profanity_present"] == 0.0


def test_text_features() -> None:
    text = "WHY is this SO slow?? Fix it!!! now! ok?"
    features = _named([], text)
    scores = score_text(text)
    assert features["vader_compound"] == scores.compound and features["vader_neg"] == scores.neg
    assert features["exclamation_runs"] == 2.0
    assert features["question_runs"] == 2.0
    assert features["caps_word_ratio"] == pytest.approx(1 / 9)  # WHY; SO is too short
    assert features["log_tokens"] == pytest.approx(math.log1p(9))


def test_empty_text_has_no_signal() -> None:
    features = _named([], "")
    vader = dict(zip(("vader_compound", "vader_neg", "vader_neu", "vader_pos"), score_text(""), strict=True))
    assert {
        name: value for name, value in features.items() if not name.startswith("vader_")
    } == dict.fromkeys([name for name in cue_feature_names() if not name.startswith("vader_")], 0.0)
    assert {name: features[name] for name in vader} == vader


def test_precomputed_sentiment_gives_the_same_vector(cue_extractor: CueExtractor) -> None:
    texts = ["I'm cancelling, this is a JOKE!!", "Thanks so much, all fixed"]
    analyses = cue_extractor.extract_with_sentiment(texts)
    for text, analysis in zip(texts, analyses, strict=True):
        assert cue_features(analysis.cues, text, analysis.sentiment) == cue_features(analysis.cues, text)
    assert cue_extractor.featurize(texts) == [
        cue_features(a.cues, t) for t, a in zip(texts, analyses, strict=True)
    ]


def test_caps_ratio_ignores_acronyms() -> None:
    assert caps_word_ratio("FCA BBB USB") == 0.0
    assert caps_word_ratio("ANGRY customer") == 0.5
