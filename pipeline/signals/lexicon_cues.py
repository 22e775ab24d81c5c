"""The `earlywarn_lexicon_cues` component: marks one cue label from its rules in lexicon.py.

One instance per label keeps each component to one job and lets a pipeline drop a label by
name. Matches are leftmost and non-overlapping ("speak to a manager" hides the "a manager"
inside it). A match may take in words before it (`extend_left`), then survives these checks:
  1. its rule's context: `not_after` / `not_before` / `clause_final`;
  2. negation or hypothetical before it (rules marked `negatable`);
  3. a nearby complaint signal (rules marked `needs_negative_context`, i.e. sarcasm).
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.schema import CueLabel
from pipeline.signals.lexicon import (
    EXTEND_LEFT_MAX,
    NEGATIVE_CONTEXT_WORDS,
    RULES,
    SARCASM_CONTEXT_LABELS,
    SARCASM_CONTEXT_WINDOW,
    CueRule,
)
from pipeline.signals.negation import is_suppressed
from pipeline.signals.patterns import compile_rules
from pipeline.signals.spans import add_cue, cue_spans, register_extensions

FACTORY = "earlywarn_lexicon_cues"
NON_FINAL_SYMBOLS = frozenset({"@", "&", "&amp;", "+"})


@Language.factory(FACTORY, default_config={"label": ""})
def make_lexicon_cues(nlp: Language, name: str, label: str) -> LexiconCues:
    return LexiconCues(CueLabel(label))


class LexiconCues:
    """One label's rules compiled together, plus the context checks the rules ask for."""

    def __init__(self, label: CueLabel, rules: tuple[CueRule, ...] | None = None) -> None:
        register_extensions()
        self.label = label
        self.rules = RULES[label] if rules is None else rules
        self.compiled = compile_rules([rule.patterns for rule in self.rules])

    def __call__(self, doc: Doc) -> Doc:
        for index, start, end in self.compiled.finditer(doc):
            rule = self.rules[index]
            if rule.extend_left:
                start = _extend_left(doc, start, rule.extend_left)
            if not _fits_context(doc, start, end, rule):
                continue
            if rule.negatable and is_suppressed(doc, start):
                continue
            if rule.needs_negative_context and not _has_negative_context(doc, start, end):
                continue
            add_cue(doc, start, end, rule.label, rule.weight, rule.explanation)
        return doc


def _extend_left(doc: Doc, start: int, words: frozenset[str]) -> int:
    """Take in up to EXTEND_LEFT_MAX tokens from `words` right before `start`."""
    limit = max(start - EXTEND_LEFT_MAX, 0)
    while start > limit and doc[start - 1].norm_ in words:
        start -= 1
    return start


def _fits_context(doc: Doc, start: int, end: int, rule: CueRule) -> bool:
    if rule.not_after and start > 0 and doc[start - 1].norm_ in rule.not_after:
        return False
    if rule.not_before and end < len(doc) and doc[end].norm_ in rule.not_before:
        return False
    return not rule.clause_final or ends_clause(doc, end)


def ends_clause(doc: Doc, index: int) -> bool:
    """Punctuation, an emoji, a @handle, a #hashtag, a link or the end of text at `index`.

    A lone "@" or "&" is shorthand for a word ("not @ gate"), so it does not end a clause.
    """
    if index >= len(doc):
        return True
    token = doc[index]
    if token.text in NON_FINAL_SYMBOLS:
        return False
    return not token.is_alpha and not token.like_num


def _has_negative_context(doc: Doc, start: int, end: int) -> bool:
    """A complaint cue or complaint word within the window around [start, end), outside it."""
    left, right = max(start - SARCASM_CONTEXT_WINDOW, 0), min(end + SARCASM_CONTEXT_WINDOW, len(doc))
    for i in (*range(left, start), *range(end, right)):
        if doc[i].norm_ in NEGATIVE_CONTEXT_WORDS:
            return True
    for span in cue_spans(doc, SARCASM_CONTEXT_LABELS):
        if span.start < right and span.end > left and (span.end <= start or span.start >= end):
            return True
    return False
