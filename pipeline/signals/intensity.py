"""The `earlywarn_intensity` component: shouting in capitals and runs of "!!" / "?!".

Neither says what is wrong, but both say how strongly the customer feels it, which moves a
complaint up the queue. Both are found with regular expressions on the text, then aligned to
tokens, so a calm message costs two regex scans.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.schema import CueLabel
from pipeline.signals.lexicon import ACRONYMS, PUNCT_RUN_MIN
from pipeline.signals.patterns import token_text
from pipeline.signals.spans import add_cue, register_extensions

FACTORY = "earlywarn_intensity"

CAPS_WEIGHT = 0.5
CAPS_EXPLANATION = "word written in capitals: the customer is shouting"
PUNCT_EXPLANATION = "repeated '!' or '?': heightened emotion"

#: Three or more capital letters standing alone as a word; not part of a @handle or a link.
CAPS_WORD = re.compile(r"(?<![\w@/#.])[A-Z]{3,}(?![\w])")
PUNCT_RUN = re.compile(rf"[!?]{{{PUNCT_RUN_MIN},}}")


def is_shouted(word: str) -> bool:
    """A CAPS_WORD match that is not a known acronym (FCA, USB, ASAP)."""
    return word.lower() not in ACRONYMS


def punctuation_weight(run: str) -> float:
    """'!!' 0.5, '!!!' 0.6 ... capped at 1: longer runs are louder."""
    return min(1.0, 0.3 + 0.1 * len(run))


@Language.factory(FACTORY)
def make_intensity(nlp: Language, name: str) -> IntensityCues:
    return IntensityCues()


class IntensityCues:
    def __init__(self) -> None:
        register_extensions()

    def __call__(self, doc: Doc) -> Doc:
        text = token_text(doc).text
        for word in CAPS_WORD.finditer(text):
            if is_shouted(word.group()):
                _mark(doc, word.start(), word.end(), CAPS_WEIGHT, CAPS_EXPLANATION)
        for run in PUNCT_RUN.finditer(text):
            _mark(doc, run.start(), run.end(), punctuation_weight(run.group()), PUNCT_EXPLANATION)
        return doc


def _mark(doc: Doc, start_char: int, end_char: int, weight: float, explanation: str) -> None:
    span = doc.char_span(start_char, end_char, alignment_mode="expand")
    if span is not None:
        add_cue(doc, span.start, span.end, CueLabel.intensity, weight, explanation)
