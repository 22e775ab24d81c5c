"""Case details: references from the keyword tables, money, dates and organisations from NER."""

from __future__ import annotations

import pytest

from pipeline.schema import Entity
from pipeline.signals import EntityExtractor


@pytest.fixture(scope="module")
def entities() -> EntityExtractor:
    return EntityExtractor()


def _pairs(found: list[Entity]) -> list[tuple[str, str]]:
    return [(entity.label, entity.text) for entity in found]


def test_order_reference_money_and_date(entities: EntityExtractor) -> None:
    text = "My order #12345 cost £45.99 and was due on 3 March 2024"
    found = entities.extract_one(text)
    assert _pairs(found) == [("ORDER_NUMBER", "12345"), ("MONEY", "£45.99"), ("DATE", "3 March 2024")]
    for entity in found:
        assert text[entity.start : entity.end] == entity.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ref ABC-123456 please", ("REFERENCE_NUMBER", "ABC-123456")),
        ("my account ending 1234 was charged", ("ACCOUNT_NUMBER", "1234")),
        ("account ending in 9876", ("ACCOUNT_NUMBER", "9876")),
        ("ticket 998877 is still open", ("TICKET_NUMBER", "998877")),
        ("case number: 55501", ("TICKET_NUMBER", "55501")),
        ("my order number is 77123", ("ORDER_NUMBER", "77123")),
    ],
)
def test_case_references(entities: EntityExtractor, text: str, expected: tuple[str, str]) -> None:
    assert expected in _pairs(entities.extract_one(text))


def test_short_numbers_after_a_keyword_are_not_references(entities: EntityExtractor) -> None:
    labels = {entity.label for entity in entities.extract_one("I placed my order 2 weeks ago")}
    assert "ORDER_NUMBER" not in labels


def test_people_and_places_are_left_out(entities: EntityExtractor) -> None:
    found = _pairs(entities.extract(["John flew from London to Paris with British Airways on Friday"])[0])
    assert found == [("ORG", "British Airways"), ("DATE", "Friday")]


def test_model_loads_only_when_first_used() -> None:
    extractor = EntityExtractor()
    assert extractor._nlp is None
    assert extractor.extract([]) == []
    assert "tagger" not in extractor.nlp.pipe_names and "ner" in extractor.nlp.pipe_names
