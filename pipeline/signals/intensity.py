"""The `earlywarn_intensity` component: shouting in capitals and runs of "!!" / "?!".

Neither says what is wrong, but both say how strongly the customer feels it, which moves a
complaint up the queue. Both are found with regular expressions on the text, then aligned to
tokens, so a calm message costs two regex scans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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

#: Three or more capital letters ending a word; `shouted_words` then checks where the word starts.
#: (No lookbehind here: a pattern that starts with a character class lets the engine skip ahead.)
CAPS_WORD = re.compile(r"[A-Z]{3,}(?!\w)")
_NOT_BEFORE_CAPS_WORD = frozenset("@/#.")
PUNCT_RUN = re.compile(rf"[!?]{{{PUNCT_RUN_MIN},}}")


def shouted_words(text: str) -> Iterator[re.Match[str]]:
    """Whole words of 3+ capitals that are not known acronyms (FCA, USB, ASAP), @handles, links or
    redactions (the CFPB and many CRMs replace personal details with "XXXX")."""
    for match in CAPS_WORD.finditer(text):
        before = text[match.start() - 1] if match.start() else " "
        if before.isalnum() or before == "_" or before in _NOT_BEFORE_CAPS_WORD:
            continue
        word = match.group()
        if word.lower() not in ACRONYMS and word.strip("X"):
            yield match


def punctuation_weight(run: str) -> float:
    """'!!' 0.5, '!!!' 0.6 ... capped at 1: longer runs are louder."""
    return min(1.0, 0.3 + 0.1 * len(run))


@Language.factory(FACTORY)
def make_intensity(nlp: Language, name: str) -> IntensityCues:
    return IntensityCues()


class IntensityCues:
    """Marks shouted words and "!!"/"?!" runs."""

    def __init__(self) -> None:
        register_extensions()

    def __call__(self, doc: Doc) -> Doc:
        text = token_text(doc).text
        for word in shouted_words(text):
            _mark(doc, word.start(), word.end(), CAPS_WEIGHT, CAPS_EXPLANATION)
        for run in PUNCT_RUN.finditer(text):
            _mark(doc, run.start(), run.end(), punctuation_weight(run.group()), PUNCT_EXPLANATION)
        return doc


def _mark(doc: Doc, start_char: int, end_char: int, weight: float, explanation: str) -> None:
    span = doc.char_span(start_char, end_char, alignment_mode="expand")
    if span is not None:
        add_cue(doc, span.start, span.end, CueLabel.intensity, weight, explanation)
