"""Is a cue inside a negation or a hypothetical? One helper for every component.

"I'm not cancelling", "no need to escalate" and "if I ever need a manager" contain the words of a
cue but not the intent. Rather than patch each pattern, every negatable cue asks the same
question: does a negator or hypothetical marker sit shortly before it, inside the same clause?
"""

from __future__ import annotations

from spacy.tokens import Doc

from pipeline.signals.lexicon import (
    CLAUSE_BREAKS,
    CLAUSE_SUBJECTS,
    HYPOTHETICAL_WINDOW,
    HYPOTHETICALS,
    INABILITY_MODALS,
    NEGATION_RAISERS,
    NEGATION_WINDOW,
    NEGATORS,
    SCOPE_OPENERS,
    SUBJECT_PRONOUNS,
)

_HYPOTHETICAL_SET = frozenset(HYPOTHETICALS)
_LONGEST_HYPOTHETICAL = max(len(marker) for marker in HYPOTHETICALS)


def is_suppressed(doc: Doc, start: int, *, inability_negates: bool = False) -> bool:
    """A cue starting at token `start` does not count: it is negated or only hypothetical."""
    return is_negated(doc, start, inability_negates=inability_negates) or is_hypothetical(doc, start)


def is_negated(
    doc: Doc, start: int, *, window: int = NEGATION_WINDOW, inability_negates: bool = False
) -> bool:
    """True when a negator governs the token at `start`.

    The look back stops at a clause break (punctuation, "but", "and", ...) and at the subject of
    the cue's clause: in "if this isn't fixed I'm cancelling" the "n't" belongs to the if-clause
    (but "I don't think I'll cancel" carries over, see NEGATION_RAISERS). And not every negator
    negates the customer's intent:
    - "they won't let me cancel": a scope opener (let, allow, able) starts a new wish;
    - "why can't I speak to a manager?": inversion (negator + subject pronoun) is a question;
    - "I can't cancel my account online": with can/could it is inability, still the customer's
      wish, unless `inability_negates` (sentiment words: "can't complain" is not a complaint).
    """
    for i in _clause_before(doc, start, window, stop_at_subject=True):
        norm = doc[i].norm_
        if norm in SCOPE_OPENERS:
            return False
        if norm not in NEGATORS:
            continue
        if norm == "not" and _is_inverted_question(doc, i):
            continue
        if norm == "not" and not inability_negates and i > 0 and doc[i - 1].norm_ in INABILITY_MODALS:
            continue
        return True
    return False


def is_hypothetical(doc: Doc, start: int, *, window: int = HYPOTHETICAL_WINDOW) -> bool:
    """True when a hypothetical marker ("if I ever", "in case") opens the clause before `start`."""
    norms = [doc[i].norm_ for i in reversed(_clause_before(doc, start, window, stop_at_subject=False))]
    for offset in range(len(norms)):
        for size in range(1, _LONGEST_HYPOTHETICAL + 1):
            if tuple(norms[offset : offset + size]) in _HYPOTHETICAL_SET:
                return True
    return False


def _clause_before(doc: Doc, start: int, window: int, *, stop_at_subject: bool) -> list[int]:
    """Indices of up to `window` tokens before `start`, nearest first, stopping at a clause break
    or, with `stop_at_subject`, just after the subject that opens the cue's clause."""
    indices = []
    for i in range(start - 1, max(start - 1 - window, -1), -1):
        norm = doc[i].norm_
        if norm in CLAUSE_BREAKS:
            break
        indices.append(i)
        if stop_at_subject and norm in CLAUSE_SUBJECTS and not _after_raiser(doc, i):
            break
    return indices


def _after_raiser(doc: Doc, i: int) -> bool:
    return i > 0 and doc[i - 1].norm_ in NEGATION_RAISERS


def _is_inverted_question(doc: Doc, negator: int) -> bool:
    """Inversion ("won't you", "can't I", "don't we"): a subject right after the negator marks a question."""
    return negator + 1 < len(doc) and doc[negator + 1].norm_ in SUBJECT_PRONOUNS
