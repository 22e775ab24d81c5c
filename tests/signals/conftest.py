"""Fixtures for the signal tests: one extractor per session (building compiles every rule)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import spacy
from spacy.language import Language

from pipeline.schema import CueLabel
from pipeline.signals import CueExtractor

CueTexts = Callable[[str, CueLabel], list[str]]


@pytest.fixture(scope="session")
def blank_nlp() -> Language:
    """A tokenizer-only pipeline, for testing helpers on real spaCy tokens."""
    return spacy.blank("en")


@pytest.fixture(scope="session")
def cue_texts(cue_extractor: CueExtractor) -> CueTexts:
    """cue_texts(text, label) -> the texts of the cues with that label, in order."""

    def texts(text: str, label: CueLabel) -> list[str]:
        return [cue.text for cue in cue_extractor.extract_one(text) if cue.label is label]

    return texts
