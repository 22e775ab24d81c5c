"""The `earlywarn_sentiment` component: VADER on the whole text, and its negative words as cues.

VADER scores the message once (compound/neg/neu/pos, kept on `doc._.earlywarn_sentiment` for
the feature vector) and its lexicon's negative words become `negative_emotion` cues weighted by
valence. Words are looked up by token NORM in a set, only for tokens the set intersects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from spacy.language import Language
from spacy.tokens import Doc
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline.schema import CueLabel
from pipeline.signals.lexicon import SENTIMENT_NEGATION_WINDOW, VADER_IGNORED, VADER_MAX_VALENCE
from pipeline.signals.negation import is_negated
from pipeline.signals.patterns import token_text
from pipeline.signals.spans import add_cue, register_extensions

FACTORY = "earlywarn_sentiment"
DOC_ATTR = "earlywarn_sentiment"
VADER_CHUNK_CHARS = 2000
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")


class Sentiment(NamedTuple):
    """VADER's scores for one text: compound in [-1, 1], the other three proportions summing to 1."""

    compound: float
    neg: float
    neu: float
    pos: float


NEUTRAL = Sentiment(compound=0.0, neg=0.0, neu=1.0, pos=0.0)


@lru_cache(maxsize=1)
def shared_analyzer() -> SentimentIntensityAnalyzer:
    """One VADER analyzer per process: building it parses the lexicon files."""
    return SentimentIntensityAnalyzer()


def score_text(text: str) -> Sentiment:
    """VADER's scores; a long text (an email, a CFPB narrative) is scored in chunks of sentences.

    VADER's negation check re-lowercases every word for every word, so its cost grows with the
    square of the length: a 40,000-character complaint takes seconds. Chunks keep it linear;
    their scores are averaged, weighted by length. Messages up to VADER_CHUNK_CHARS are scored
    whole, exactly as VADER does.
    """
    if len(text) <= VADER_CHUNK_CHARS:
        return _vader(text)
    chunks = list(_chunks(text))
    total = sum(len(chunk) for chunk in chunks)
    scored = [(_vader(chunk), len(chunk) / total) for chunk in chunks]
    return Sentiment(*(sum(score[i] * share for score, share in scored) for i in range(4)))


def _vader(text: str) -> Sentiment:
    scores = shared_analyzer().polarity_scores(text)
    return Sentiment(scores["compound"], scores["neg"], scores["neu"], scores["pos"])


def _chunks(text: str) -> Iterator[str]:
    """Consecutive sentences packed into pieces of at most VADER_CHUNK_CHARS (a longer sentence is cut)."""
    chunk = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > VADER_CHUNK_CHARS:
            yield sentence[:VADER_CHUNK_CHARS]
            sentence = sentence[VADER_CHUNK_CHARS:]
        if chunk and len(chunk) + 1 + len(sentence) > VADER_CHUNK_CHARS:
            yield chunk
            chunk = ""
        chunk = f"{chunk} {sentence}" if chunk else sentence
    if chunk.strip():
        yield chunk


@lru_cache(maxsize=1)
def negative_words() -> dict[str, float]:
    """VADER's negative-valence entries, less the service words it misreads (VADER_IGNORED)."""
    return {
        word: valence
        for word, valence in shared_analyzer().lexicon.items()
        if valence < 0 and word not in VADER_IGNORED
    }


def register_doc_extension() -> None:
    if not Doc.has_extension(DOC_ATTR):
        Doc.set_extension(DOC_ATTR, default=None)


@Language.factory(FACTORY)
def make_sentiment(nlp: Language, name: str) -> SentimentCues:
    return SentimentCues()


class SentimentCues:
    """Scores the doc with VADER and marks un-negated negative lexicon words."""

    def __init__(self) -> None:
        register_extensions()
        register_doc_extension()
        self.valence = negative_words()
        self._words = frozenset(self.valence)

    def __call__(self, doc: Doc) -> Doc:
        tokens = token_text(doc)
        doc._.set(DOC_ATTR, score_text(tokens.text))
        norms = tokens.norms
        if self._words.isdisjoint(norms):
            return doc
        for i, norm in enumerate(norms):
            if norm not in self._words:
                continue
            if is_negated(doc, i, window=SENTIMENT_NEGATION_WINDOW, inability_negates=True):
                continue
            valence = self.valence[norm]
            weight = -valence / VADER_MAX_VALENCE
            add_cue(doc, i, i + 1, CueLabel.negative_emotion, weight, explain(norm, valence))
        return doc


def explain(word: str, valence: float) -> str:
    if valence <= -2.5:
        strength = "strongly negative"
    elif valence <= -1.0:
        strength = "negative"
    else:
        strength = "mildly negative"
    return f"'{word}' is a {strength} word (VADER {valence:+.1f}): the customer is unhappy"
