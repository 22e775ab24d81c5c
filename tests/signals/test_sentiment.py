"""VADER scores and negative-word cues."""

from __future__ import annotations

import pytest

from pipeline.schema import CueLabel
from pipeline.signals import CueExtractor
from pipeline.signals.sentiment import Sentiment, negative_words, score_text, shared_analyzer

from .conftest import CueTexts


def test_negative_words_are_marked_with_their_valence(cue_extractor: CueExtractor) -> None:
    cues = [
        c
        for c in cue_extractor.extract_one("The service was terrible and the staff were rude")
        if c.label is CueLabel.negative_emotion
    ]
    assert [c.text for c in cues] == ["terrible", "rude"]
    assert cues[0].weight == pytest.approx(abs(shared_analyzer().lexicon["terrible"]) / 4)
    assert "terrible" in cues[0].explanation


@pytest.mark.parametrize("text", ["no complaints here", "not bad at all", "I never had a problem with you"])
def test_negated_negative_words_are_not_marked(cue_texts: CueTexts, text: str) -> None:
    assert cue_texts(text, CueLabel.negative_emotion) == []


def test_service_actions_are_not_emotions(cue_texts: CueTexts) -> None:
    assert cue_texts("How do I pay, and can I cancel later?", CueLabel.negative_emotion) == []


def test_scores_come_from_one_shared_analyzer() -> None:
    assert shared_analyzer() is shared_analyzer()
    scores = score_text("This is the worst service ever")
    assert isinstance(scores, Sentiment)
    assert scores.compound < -0.5 and scores.neg > scores.pos


def test_extract_with_sentiment_returns_the_vader_scores(cue_extractor: CueExtractor) -> None:
    text = "Awful. Just awful."
    (analysis,) = cue_extractor.extract_with_sentiment([text])
    assert analysis.sentiment == score_text(text)


def test_negative_words_exclude_positive_and_ignored_entries() -> None:
    words = negative_words()
    assert "terrible" in words and "great" not in words and "cancel" not in words
    assert all(valence < 0 for valence in words.values())


def test_long_texts_are_scored_in_chunks_to_stay_linear() -> None:
    from pipeline.signals.sentiment import VADER_CHUNK_CHARS, _chunks, _vader

    sentence = "The agent was rude and the refund never came."
    assert score_text(sentence) == _vader(sentence)  # a message is scored whole, as VADER does

    text = " ".join([sentence] * (3 * VADER_CHUNK_CHARS // len(sentence)))
    chunks = list(_chunks(text))
    assert len(chunks) >= 3 and all(len(chunk) <= VADER_CHUNK_CHARS for chunk in chunks)
    assert " ".join(chunks) == text
    weights = [len(chunk) / sum(map(len, chunks)) for chunk in chunks]
    expected = [sum(_vader(c)[i] * w for c, w in zip(chunks, weights, strict=True)) for i in range(4)]
    assert tuple(score_text(text)) == pytest.approx(expected)
    assert score_text(text).compound < 0
