"""The cue tables are well formed: every rule compiles and says why it matters."""

from __future__ import annotations

import re

import pytest

from pipeline.schema import CueLabel
from pipeline.signals.lexicon import RULES, TOKEN_SPECS, WORD_SETS, CueRule
from pipeline.signals.patterns import compile_spec

ALL_RULES = [rule for rules in RULES.values() for rule in rules]


@pytest.mark.parametrize("rule", ALL_RULES, ids=[f"{r.label.value}/{r.name}" for r in ALL_RULES])
def test_rule_is_well_formed(rule: CueRule) -> None:
    assert 0.0 < rule.weight <= 1.0
    assert len(rule.explanation) > 10
    assert rule.patterns
    for spec in rule.patterns:
        re.compile(compile_spec(spec))


def test_rule_names_are_unique_within_a_label() -> None:
    for label, rules in RULES.items():
        names = [rule.name for rule in rules]
        assert len(names) == len(set(names)), label


def test_every_rule_sits_under_its_own_label() -> None:
    for label, rules in RULES.items():
        assert {rule.label for rule in rules} == {label}


def test_vader_and_intensity_labels_are_not_lexicon_driven() -> None:
    assert CueLabel.negative_emotion not in RULES
    assert CueLabel.intensity not in RULES


def test_word_sets_are_lower_case_single_tokens() -> None:
    for name, words in WORD_SETS.items():
        for word in words:
            assert word == word.lower() and " " not in word, (name, word)


def test_masked_swear_spec_needs_a_mask() -> None:
    regex = re.compile(TOKEN_SPECS["masked_swear"])
    for masked in ("f*ck", "f**king", "sh!t", "s**t", "b*stards", "a$$hole", "c**t"):
        assert regex.fullmatch(masked), masked
    for plain in ("fuck", "shit", "class", "hello", "s*", "f.ck"):
        assert not regex.fullmatch(plain), plain
