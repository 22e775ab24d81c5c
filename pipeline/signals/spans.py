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


def _data_key(name: str, start_char: int, end_char: int, label: str) -> tuple[str, str, int, int, str]:
    return ("earlywarn", name, start_char, end_char, label)


def _accessors(name: str, default: Any) -> dict[str, Any]:
    """Getter and setter for `span._.<name>`; add_cue and cues_from_doc use the same keys directly,
    since `span._` builds an Underscore object on every access."""

    def getter(span: Span) -> Any:
        return span.doc.user_data.get(_data_key(name, span.start_char, span.end_char, span.label_), default)

    def setter(span: Span, value: Any) -> None:
        span.doc.user_data[_data_key(name, span.start_char, span.end_char, span.label_)] = value

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
    doc.user_data[_data_key(WEIGHT, span.start_char, span.end_char, label.value)] = min(max(weight, 0.0), 1.0)
    doc.user_data[_data_key(EXPLANATION, span.start_char, span.end_char, label.value)] = explanation
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
    cues = []
    for span in cue_spans(doc):
        start, end, label = span.start_char, span.end_char, span.label_
        cues.append(
            Cue(
                label=CueLabel(label),
                start=start,
                end=end,
                text=span.text,
                weight=doc.user_data[_data_key(WEIGHT, start, end, label)],
                explanation=doc.user_data[_data_key(EXPLANATION, start, end, label)],
            )
        )
    return sorted(cues, key=lambda cue: (cue.start, cue.end, cue.label.value))
