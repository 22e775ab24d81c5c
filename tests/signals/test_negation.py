"""The shared negation / hypothetical helper, on real spaCy tokens."""

from __future__ import annotations

import pytest
from spacy.language import Language

from pipeline.signals.negation import is_hypothetical, is_negated, is_suppressed


def _index(doc, word: str) -> int:
    return next(token.i for token in doc if token.lower_ == word)


@pytest.mark.parametrize(
    ("text", "cue_word"),
    [
        ("I'm not cancelling", "cancelling"),
        ("Im not cancelling", "cancelling"),
        ("I dont want to cancel", "cancel"),
        ("no need to escalate", "escalate"),
        ("I won't be switching", "switching"),
        ("I have never been told", "told"),
        ("without speaking to a manager", "speaking"),
        ("I don't think I'll cancel", "cancel"),
    ],
)
def test_negator_before_the_cue_negates_it(blank_nlp: Language, text: str, cue_word: str) -> None:
    doc = blank_nlp(text)
    assert is_negated(doc, _index(doc, cue_word))


@pytest.mark.parametrize(
    ("text", "cue_word", "why"),
    [
        ("No, I'm cancelling", "cancelling", "a comma closes the clause"),
        ("It's not working and I'm cancelling", "cancelling", "'and' starts a new clause"),
        ("If this isn't fixed I'm cancelling", "cancelling", "a new subject starts a new clause"),
        ("They won't let me cancel", "cancel", "'let' opens a new wish"),
        ("Why can't I escalate this?", "escalate", "inversion makes it a question"),
        ("I can't cancel my account online", "cancel", "can't is inability, not refusal"),
        ("Not one of your staff has bothered to call me back", "call", "the negator is out of the window"),
        ("I'm cancelling, not happy", "cancelling", "the negator comes after the cue"),
    ],
)
def test_negator_outside_the_cues_scope_does_not(
    blank_nlp: Language, text: str, cue_word: str, why: str
) -> None:
    doc = blank_nlp(text)
    assert not is_negated(doc, _index(doc, cue_word)), why


def test_inability_negates_when_asked_to(blank_nlp: Language) -> None:
    doc = blank_nlp("I can't complain")
    assert not is_negated(doc, 3)
    assert is_negated(doc, 3, inability_negates=True)


@pytest.mark.parametrize(
    ("text", "cue_word", "expected"),
    [
        ("If I ever need to escalate, who do I call?", "escalate", True),
        ("In case I need to cancel my plan", "cancel", True),
        ("What happens if I cancel?", "cancel", True),
        ("If this isn't fixed I'm cancelling", "cancelling", False),
        ("I am going to cancel", "cancel", False),
    ],
)
def test_hypotheticals(blank_nlp: Language, text: str, cue_word: str, expected: bool) -> None:
    doc = blank_nlp(text)
    assert is_hypothetical(doc, _index(doc, cue_word)) is expected
    assert is_suppressed(doc, _index(doc, cue_word)) is expected


def test_a_cue_at_the_start_of_the_text_is_not_negated(blank_nlp: Language) -> None:
    assert not is_suppressed(blank_nlp("Cancel my account"), 0)
