"""A fixed-length numeric summary of a text's cues, for the complaint and severity models.

Per CueLabel: summed weight (capped, so twenty shouted words do not drown everything else) and a
present flag; then VADER's four scores, the share of shouted words, "!" and "?" runs, and length.
The order is fixed by `cue_feature_names()`; models store it alongside their weights.
"""

from __future__ import annotations

import math
import re

from pipeline.schema import Cue, CueLabel
from pipeline.signals.intensity import CAPS_WORD, is_shouted
from pipeline.signals.sentiment import Sentiment, score_text

WEIGHT_CAP = 3.0
RUN_CAP = 10

_WORD = re.compile(r"[^\W\d_]+")  # runs of letters
_TOKEN = re.compile(r"\w+|[^\w\s]")
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
    for label in CueLabel:
        names += [f"cue_{label.value}_weight", f"cue_{label.value}_present"]
    return names + list(_TEXT_FEATURES)


def cue_features(cues: list[Cue], text: str, sentiment: Sentiment | None = None) -> list[float]:
    """The feature vector for one text; pass `sentiment` from `extract_with_sentiment` to skip VADER."""
    totals = dict.fromkeys(CueLabel, 0.0)
    for cue in cues:
        totals[cue.label] += cue.weight
    vector: list[float] = []
    for label in CueLabel:
        vector += [min(totals[label], WEIGHT_CAP), 1.0 if totals[label] > 0 else 0.0]
    scores = sentiment if sentiment is not None else score_text(text)
    vector += [scores.compound, scores.neg, scores.neu, scores.pos]
    vector += [
        caps_word_ratio(text),
        float(min(len(_EXCLAIM_RUN.findall(text)), RUN_CAP)),
        float(min(len(_QUESTION_RUN.findall(text)), RUN_CAP)),
        math.log1p(len(_TOKEN.findall(text))),
    ]
    return vector


def caps_word_ratio(text: str) -> float:
    """Share of words that are shouted, by the intensity cue's own definition."""
    words = len(_WORD.findall(text))
    if not words:
        return 0.0
    shouted = sum(1 for match in CAPS_WORD.finditer(text) if is_shouted(match.group()))
    return min(shouted / words, 1.0)
