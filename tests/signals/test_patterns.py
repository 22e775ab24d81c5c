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


def test_shared_first_tokens_are_factored_and_every_match_stays_the_same(blank_nlp: Language) -> None:
    """Macro-expanded rules run to thousands of patterns; neighbours sharing a first token share it in
    the regex. The engine must still try the same patterns in the same order: same matches, same ends."""
    specs = [
        "my mum|dad is|was very|terminally? ill|terminally", "my mum|dad is|was very? sick",
        "my mum|dad has cancer", "my mum|dad <alpha>? died", "i am|was a full time carer",
        "i am|was caring for my mum|dad", "i was diagnosed+ with cancer", "lost my job", "lost my jobs",
        "i lost my job today", "my son very|terminally? terminally|poorly", "my son very|terminally? ill",
    ]
    plain = re.compile(
        "[ \x1f](?:(?P<r0>"
        + "|".join(compile_spec(spec) for spec in sorted(specs, key=lambda s: len(s.split()), reverse=True))
        + "))(?=[ \x1f])"
    )
    factored = compile_rules([specs]).regex
    assert factored.pattern.count("(?:my)") < plain.pattern.count("(?:my)")  # a shared head, written once
    texts = [
        "my mum is terminally ill and my dad was very sick", "My dad has cancer. my dad suddenly died",
        "I am a full time carer, I was caring for my mum", "i was diagnosed diagnosed with cancer",
        "I lost my job today and lost my jobs", "my mum is ill my mum is terminally", "my son terminally ill", "nothing here at all",
    ]
    for text in texts:
        norm_text = token_text(blank_nlp(text)).norm_text
        assert [m.span() for m in factored.finditer(norm_text)] == [m.span() for m in plain.finditer(norm_text)], text
