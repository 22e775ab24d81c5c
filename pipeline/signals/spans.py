"""Where cues live on a Doc, and how they leave it as `Cue` objects.

Every component writes to the one span group `doc.spans[SPAN_KEY]`; a span's label is the
CueLabel value, and its weight and explanation ride on Span extension attributes.

spaCy keys plain Span extension values by character offsets only, so two cues over the same
words ("still waiting" is both waiting_time and repeated_contact) would share one weight. The
extensions here use a getter/setter that also keys on the label.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from spacy.tokens import Doc, Span

from pipeline.schema import Cue, CueLabel

SPAN_KEY = "earlywarn_cues"
WEIGHT = "earlywarn_weight"
EXPLANATION = "earlywarn_explanation"


def _user_data_key(span: Span, name: str) -> tuple[str, str, int, int, str]:
    return ("earlywarn", name, span.start_char, span.end_char, span.label_)


def _accessors(name: str, default: Any) -> dict[str, Any]:
    def getter(span: Span) -> Any:
        return span.doc.user_data.get(_user_data_key(span, name), default)

    def setter(span: Span, value: Any) -> None:
        span.doc.user_data[_user_data_key(span, name)] = value

    return {"getter": getter, "setter": setter}


def register_extensions() -> None:
    """Declare the Span attributes once; calling again (another extractor, a reload) is harmless."""
    if not Span.has_extension(WEIGHT):
        Span.set_extension(WEIGHT, **_accessors(WEIGHT, 0.0))
    if not Span.has_extension(EXPLANATION):
        Span.set_extension(EXPLANATION, **_accessors(EXPLANATION, ""))


def add_cue(doc: Doc, start: int, end: int, label: CueLabel, weight: float, explanation: str) -> Span:
    """Mark tokens [start, end) as a cue; the weight is clipped into the 0-1 the schema requires."""
    span = Span(doc, start, end, label=label.value)
    span._.set(WEIGHT, min(max(weight, 0.0), 1.0))
    span._.set(EXPLANATION, explanation)
    if SPAN_KEY not in doc.spans:
        doc.spans[SPAN_KEY] = []
    doc.spans[SPAN_KEY].append(span)
    return span


def cue_spans(doc: Doc, labels: Iterable[CueLabel] | None = None) -> list[Span]:
    """The cue spans already on the doc, optionally only some labels."""
    if SPAN_KEY not in doc.spans:
        return []
    spans = list(doc.spans[SPAN_KEY])
    if labels is None:
        return spans
    wanted = {label.value for label in labels}
    return [span for span in spans if span.label_ in wanted]


def cues_from_doc(doc: Doc) -> list[Cue]:
    """The doc's cues as schema objects, sorted by position; offsets index the original text."""
    spans = sorted(cue_spans(doc), key=lambda s: (s.start_char, s.end_char, s.label_))
    return [
        Cue(
            label=CueLabel(span.label_),
            start=span.start_char,
            end=span.end_char,
            text=span.text,
            weight=span._.get(WEIGHT),
            explanation=span._.get(EXPLANATION),
        )
        for span in spans
    ]


def longest_first(candidates: Iterable[tuple[int, int, Any]]) -> list[tuple[int, int, Any]]:
    """Keep non-overlapping (start, end, payload) matches, preferring the longest, then the earliest.

    "speak to a manager" wins over "a manager" inside it, so the negation check runs on the
    whole phrase the customer wrote.
    """
    taken: set[int] = set()
    kept = []
    for start, end, payload in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
        if taken.isdisjoint(range(start, end)):
            kept.append((start, end, payload))
            taken.update(range(start, end))
    return sorted(kept, key=lambda c: c[0])
