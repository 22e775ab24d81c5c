"""The `earlywarn_sentiment` component: VADER on the whole text, and its negative words as cues.

VADER scores the message once (compound/neg/neu/pos, kept on `doc._.earlywarn_sentiment` for
the feature vector) and its lexicon's negative words become `negative_emotion` cues weighted by
valence. Words are looked up by token NORM in a set, only for tokens the set intersects.
"""

from __future__ import annotations

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
    scores = shared_analyzer().polarity_scores(text)
    return Sentiment(scores["compound"], scores["neg"], scores["neu"], scores["pos"])


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
            add_cue(doc, i, i + 1, CueLabel.negative_emotion, -valence / VADER_MAX_VALENCE, explain(norm, valence))
        return doc


def explain(word: str, valence: float) -> str:
    strength = "strongly negative" if valence <= -2.5 else "negative" if valence <= -1.0 else "mildly negative"
    return f"'{word}' is a {strength} word (VADER {valence:+.1f}): the customer is unhappy"
