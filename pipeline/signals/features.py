"""A fixed-length numeric summary of a text's cues, for the complaint and severity models.

Per CueLabel: summed weight (capped, so twenty shouted words do not drown everything else) and a
present flag; then VADER's four scores, the share of shouted words, the number of "!" runs and of
"?" runs (capped at 10), and log(1 + number of whitespace-separated words).
The order is fixed by `cue_feature_names()`; models store it alongside their weights.
"""

from __future__ import annotations

import math
import re

from pipeline.schema import Cue, CueLabel
from pipeline.signals.intensity import shouted_words
from pipeline.signals.sentiment import Sentiment, score_text

WEIGHT_CAP = 3.0
RUN_CAP = 10

_LABELS = tuple(CueLabel)
_POSITION = {label: i for i, label in enumerate(_LABELS)}
_EXCLAIM_RUN = re.compile(r"!+")
_QUESTION_RUN = re.compile(r"\?+")

_TEXT_FEATURES = (
    "vader_compound",
    "vader_neg",
    "vader_neu",
    "vader_pos",
    "caps_word_ratio",
    "exclamation_runs",
    "question_runs",
    "log_tokens",
)


def cue_feature_names() -> list[str]:
    names = []
    for label in _LABELS:
        names += [f"cue_{label.value}_weight", f"cue_{label.value}_present"]
    return names + list(_TEXT_FEATURES)


def cue_features(cues: list[Cue], text: str, sentiment: Sentiment | None = None) -> list[float]:
    """The feature vector for one text; pass `sentiment` from `extract_with_sentiment` to skip VADER."""
    totals = [0.0] * len(_LABELS)
    for cue in cues:
        totals[_POSITION[cue.label]] += cue.weight
    vector: list[float] = []
    for total in totals:
        vector += (min(total, WEIGHT_CAP), 1.0 if total > 0 else 0.0)
    scores = sentiment if sentiment is not None else score_text(text)
    n_words = len(text.split())
    vector += (
        scores.compound,
        scores.neg,
        scores.neu,
        scores.pos,
        caps_word_ratio(text, n_words),
        float(min(len(_EXCLAIM_RUN.findall(text)), RUN_CAP)),
        float(min(len(_QUESTION_RUN.findall(text)), RUN_CAP)),
        math.log1p(n_words),
    )
    return vector


def caps_word_ratio(text: str, n_words: int | None = None) -> float:
    """Share of whitespace-separated words that are shouted, by the intensity cue's definition."""
    words = len(text.split()) if n_words is None else n_words
    if not words:
        return 0.0
    shouted = sum(1 for _ in shouted_words(text))
    return min(shouted / words, 1.0)
