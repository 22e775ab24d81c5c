"""`CueExtractor`: the one object the rest of earlywarn uses to find cues in text.

It builds a tokenizer-only spaCy pipeline (no tagger, parser or vectors: cues are lexical, and
this keeps it at thousands of messages a second) and adds the cue components by factory name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import spacy
from spacy.language import Language

from pipeline.schema import Cue, CueLabel
from pipeline.signals import intensity, lexicon_cues, sentiment
from pipeline.signals.features import cue_features
from pipeline.signals.sentiment import DOC_ATTR, NEUTRAL, Sentiment
from pipeline.signals.spans import cues_from_doc


class CueAnalysis(NamedTuple):
    """Cues of one text, with the VADER scores computed on the way so features need not redo them."""

    cues: list[Cue]
    sentiment: Sentiment


#: Sarcasm runs last: it looks for the other complaint cues around praise.
LEXICON_ORDER: tuple[CueLabel, ...] = (
    CueLabel.escalation_demand,
    CueLabel.churn_threat,
    CueLabel.regulator_mention,
    CueLabel.public_amplification,
    CueLabel.repeated_contact,
    CueLabel.waiting_time,
    CueLabel.broken_promise,
    CueLabel.profanity,
    CueLabel.sarcasm,
)


def build_pipeline() -> Language:
    """A blank English pipeline with every cue component, in the order they depend on each other."""
    nlp = spacy.blank("en")
    nlp.add_pipe(sentiment.FACTORY, name="cues_negative_emotion")
    nlp.add_pipe(intensity.FACTORY, name="cues_intensity")
    for label in LEXICON_ORDER:
        nlp.add_pipe(lexicon_cues.FACTORY, name=f"cues_{label.value}", config={"label": label.value})
    return nlp


class CueExtractor:
    """Finds complaint cues. Build once and reuse: building compiles every rule and loads VADER."""

    def __init__(self) -> None:
        self.nlp = build_pipeline()

    def extract_with_sentiment(self, texts: Sequence[str], batch_size: int = 512) -> list[CueAnalysis]:
        """Cues and VADER scores per text: what `cue_features` needs, with VADER run once."""
        results = []
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            scores: Any = doc._.get(DOC_ATTR)
            results.append(CueAnalysis(cues_from_doc(doc), scores or NEUTRAL))
        return results

    def extract(self, texts: Sequence[str], batch_size: int = 512) -> list[list[Cue]]:
        """One list of cues per text, sorted by start; `text[c.start:c.end] == c.text`."""
        return [analysis.cues for analysis in self.extract_with_sentiment(texts, batch_size)]

    def extract_one(self, text: str) -> list[Cue]:
        return self.extract([text])[0]

    def featurize(self, texts: Sequence[str], batch_size: int = 512) -> list[list[float]]:
        """`cue_features` for each text, running VADER once per text."""
        return [
            cue_features(analysis.cues, text, analysis.sentiment)
            for text, analysis in zip(texts, self.extract_with_sentiment(texts, batch_size), strict=True)
        ]
