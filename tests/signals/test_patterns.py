"""The pattern notation compiles to regexes that match whole tokens by NORM."""

from __future__ import annotations

import re

import pytest
from spacy.language import Language

from pipeline.signals.patterns import compile_rules, compile_spec, token_text, word_regex


def _matches(nlp: Language, spec: str, text: str) -> list[str]:
    doc = nlp(text)
    return [doc[start:end].text for _, start, end in compile_rules([[spec]]).finditer(doc)]


def test_word_regex_matches_exactly_the_words() -> None:
    words = {"manager", "managers", "man", "a", "an", "supervisor"}
    regex = re.compile(word_regex(words))
    for candidate in words | {"mana", "managerss", "superviso", "b", ""}:
        assert bool(regex.fullmatch(candidate)) is (candidate in words), candidate


def test_slots_match_whole_tokens_only(blank_nlp: Language) -> None:
    assert _matches(blank_nlp, "cancel", "cancel, cancellation, cancelled") == ["cancel"]


def test_matching_uses_norms_so_contractions_match_their_full_form(blank_nlp: Language) -> None:
    assert _matches(blank_nlp, "will not renew", "I won't renew") == ["won't renew"]
    assert _matches(blank_nlp, "going to cancel", "I'm gonna cancel") == ["gonna cancel"]


def test_optional_slots_at_either_end(blank_nlp: Language) -> None:
    spec = "for? <num> days ago?"
    assert _matches(blank_nlp, spec, "waited for 3 days") == ["for 3 days"]
    assert _matches(blank_nlp, spec, "ordered 3 days ago") == ["3 days ago"]
    assert _matches(blank_nlp, spec, "3 days") == ["3 days"]


def test_word_sets_and_one_or_more(blank_nlp: Language) -> None:
    assert _matches(blank_nlp, "speak to {DET}? {ROLE}", "let me speak to your manager") == [
        "speak to your manager"
    ]
    assert _matches(blank_nlp, "very+ bad", "very very bad") == ["very very bad"]


def test_glued_tokens_need_no_space_between(blank_nlp: Language) -> None:
    spec = "<glued_hash> not"
    assert _matches(blank_nlp, spec, "best airline ever #not") == ["#not"]
    assert _matches(blank_nlp, spec, "number # not found") == []


def test_bad_specs_fail_when_compiled() -> None:
    with pytest.raises(KeyError):
        compile_spec("{NO_SUCH_SET}")
    with pytest.raises(ValueError, match="no required slot"):
        compile_spec("a? b*")
    with pytest.raises(ValueError, match="empty alternative"):
        compile_spec("a||b")


def test_token_text_maps_offsets_back_to_tokens(blank_nlp: Language) -> None:
    doc = blank_nlp("I'm NOT  happy #fail\nagain")
    tokens = token_text(doc)
    assert tokens.text == doc.text
    assert tokens.norms == tuple("_" if t.is_space else t.norm_ for t in doc)
    assert len(tokens.starts) == len(doc) + 1
    for index, offset in enumerate(tokens.starts[:-1]):
        assert tokens.token_at(offset) == index
        assert tokens.norm_text[offset:].startswith(tokens.norms[index])
    assert tokens.token_at(len(tokens.norm_text)) == len(doc)
