"""CueExtractor: the public contract other modules rely on."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.schema import Cue, CueLabel
from pipeline.signals import CueExtractor
from pipeline.signals.extractor import LEXICON_ORDER

COMPLAINT = (
    "This is the THIRD time I've called!! Still no refund after 2 weeks, I want a manager or I'm cancelling."
)


def _real_tweets(settings: Settings, limit: int = 1500) -> list[str]:
    path = Path(settings.data_dir) / "twcs-head" / "twcs_head5000.csv"
    if not path.is_file():
        pytest.skip(f"real tweets not found at {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row.get("text")][:limit]


def test_cues_point_at_the_customers_own_words(cue_extractor: CueExtractor) -> None:
    cues = cue_extractor.extract_one(COMPLAINT)
    assert {c.label for c in cues} >= {
        CueLabel.repeated_contact,
        CueLabel.intensity,
        CueLabel.waiting_time,
        CueLabel.escalation_demand,
        CueLabel.churn_threat,
    }
    for cue in cues:
        assert isinstance(cue, Cue)
        assert COMPLAINT[cue.start : cue.end] == cue.text
        assert 0.0 <= cue.weight <= 1.0 and cue.explanation


def test_offsets_round_trip_on_real_tweets(cue_extractor: CueExtractor, settings: Settings) -> None:
    texts = _real_tweets(settings)
    results = cue_extractor.extract(texts, batch_size=256)
    assert len(results) == len(texts)
    assert sum(len(cues) for cues in results) > len(texts) // 4  # real support tweets are full of cues
    for text, cues in zip(texts, results, strict=True):
        for cue in cues:
            assert text[cue.start : cue.end] == cue.text
        assert [(c.start, c.end) for c in cues] == sorted((c.start, c.end) for c in cues)


def test_batched_and_single_extraction_agree(cue_extractor: CueExtractor) -> None:
    texts = [COMPLAINT, "Thanks, all sorted!", "", "   ", "WHY is my order #123 STILL not here???"]
    batched = cue_extractor.extract(texts, batch_size=2)
    assert batched == [cue_extractor.extract_one(text) for text in texts]
    assert batched[1] == batched[2] == batched[3] == []


def test_one_label_can_mark_the_same_words_as_another(cue_extractor: CueExtractor) -> None:
    cues = [c for c in cue_extractor.extract_one("still waiting") if c.text == "still waiting"]
    assert {(c.label, c.weight) for c in cues} == {
        (CueLabel.waiting_time, 0.8),
        (CueLabel.repeated_contact, 0.7),
    }


def test_pipeline_has_one_named_component_per_label() -> None:
    names = CueExtractor().nlp.pipe_names
    assert names[:2] == ["cues_negative_emotion", "cues_intensity"]
    assert names[2:] == [f"cues_{label.value}" for label in LEXICON_ORDER]
    assert names[-1] == "cues_sarcasm"  # it looks at the other cues, so it runs last


def test_spans_stay_on_the_doc_for_spacy_users(cue_extractor: CueExtractor) -> None:
    from pipeline.signals.spans import EXPLANATION, SPAN_KEY, WEIGHT

    doc = cue_extractor.nlp("Yet again, no reply")
    spans = {span.label_: span for span in doc.spans[SPAN_KEY]}
    assert spans["repeated_contact"].text == "Yet again"
    assert spans["repeated_contact"]._.get(WEIGHT) == 0.8
    assert "repeat" in spans["repeated_contact"]._.get(EXPLANATION)


def test_long_and_odd_texts_stay_bounded(cue_extractor: CueExtractor) -> None:
    filler = "the " * 3000
    (cues,) = cue_extractor.extract([filler + "2 days, still waiting!!"])
    assert [c.text for c in cues if c.label is CueLabel.waiting_time] == [
        "the the the 2 days",
        "still waiting",
    ]
    assert cue_extractor.extract(["😡😡😡", "\n\n", "f*", "#"]) == [[], [], [], []]


def test_annotated_docs_still_serialize(cue_extractor: CueExtractor) -> None:
    """DocBin and nlp.pipe(n_process=...) send docs as bytes: every annotation must survive that."""
    from spacy.tokens import Doc

    from pipeline.signals.spans import SPAN_KEY, cues_from_doc

    doc = cue_extractor.nlp("Still waiting, I want a manager!!")
    restored = Doc(cue_extractor.nlp.vocab).from_bytes(doc.to_bytes())
    assert [span.text for span in restored.spans[SPAN_KEY]] == [span.text for span in doc.spans[SPAN_KEY]]
    assert cues_from_doc(restored) == cues_from_doc(doc)
