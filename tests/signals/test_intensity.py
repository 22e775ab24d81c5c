"""Shouting in capitals and runs of !! / ??."""

from __future__ import annotations

import pytest

from pipeline.schema import CueLabel
from pipeline.signals.intensity import punctuation_weight

from .conftest import CueTexts


def test_shouted_words_and_punctuation_runs(cue_texts: CueTexts) -> None:
    assert cue_texts("This is UNACCEPTABLE!!! Fix it NOW?!", CueLabel.intensity) == [
        "UNACCEPTABLE",
        "!!!",
        "NOW",
        "?!",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I contacted the FCA and the CEO via DM about my PIN",
        "@UPS where is my parcel?",
        "Why? It's OK. Is it fixed!",
        "see https://t.co/ABCDEF for details",
        "LOL, please reply ASAP",
    ],
)
def test_acronyms_handles_links_and_single_marks_are_calm(cue_texts: CueTexts, text: str) -> None:
    assert cue_texts(text, CueLabel.intensity) == []


def test_longer_runs_weigh_more_up_to_one() -> None:
    assert punctuation_weight("!!") < punctuation_weight("!!!!") <= 1.0
    assert punctuation_weight("!" * 20) == 1.0
