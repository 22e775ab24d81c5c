"""Customer letters with the content each sector's rules require (CU824 3.5; NOS: keep the customer informed).

Templates (Jinja2, `pipeline/cases/templates/letters/`, overridable from EARLYWARN_LETTERS_DIR)
are filled from the case's facts only; each profile lists the elements its letters must contain
(`profiles.yaml`, `letters.required`); every rendered letter is checked against that list, and a
public reply against the rules for public posts, before anything is sent.

    from pipeline.cases.letters import compose_letter, deliver, kinds_available, send_letter

    kinds_available(case_view, service.profiles)           # what the case page may offer
    letter = compose_letter(service, case_id, "final_response", "email")   # preview: writes nothing
    case = send_letter(service, actor, case_id, "final_response", "email") # records it; clocks move
"""

from pipeline.cases.letters.compose import (
    Letter,
    LetterInputs,
    LetterOffer,
    LetterRequest,
    LetterResult,
    compose_letter,
    content_of,
    deliver,
    kinds_available,
    offers,
    send_letter,
    unavailable,
)
from pipeline.cases.letters.errors import LetterFactMissing, LetterIncomplete, MissingFact
from pipeline.cases.letters.facts import CfpbCategory
from pipeline.cases.letters.requirements import CHANNELS, ELEMENTS, LetterChannel, LetterKind, MissingElement

__all__ = [
    "CHANNELS",
    "ELEMENTS",
    "CfpbCategory",
    "Letter",
    "LetterChannel",
    "LetterFactMissing",
    "LetterIncomplete",
    "LetterInputs",
    "LetterKind",
    "LetterOffer",
    "LetterRequest",
    "LetterResult",
    "MissingElement",
    "MissingFact",
    "compose_letter",
    "content_of",
    "deliver",
    "kinds_available",
    "offers",
    "send_letter",
    "unavailable",
]
