"""What a public reply must never say: personal data or the case's details (NOS: social-media channels).

A reply under a customer's public post is read by everyone. It may apologise and offer a private
channel; it may not carry an email address, phone, card, account, order or reference number, nor
the case reference, the findings or the redress. Personal data is found with the same detectors
that keep it out of the logs (`pipeline.ingest.pii`); order and reference numbers with a keyword
pattern like the one the case-reference signal uses.
"""

from __future__ import annotations

import re

from pipeline.cases.letters.facts import OUTCOMES, Facts
from pipeline.cases.letters.requirements import MissingElement, normalise
from pipeline.ingest.pii import redact

PLACEHOLDERS = {"[EMAIL]": "an email address", "[PHONE]": "a phone number", "[CARD]": "a card number",
                "[ACCOUNT]": "an account number"}
# "order #12345", "ref: AB-1234", "booking no. 88231", "#48213": a keyword, a connector, an identifier with a digit.
_KEYWORDS = (r"order|ord|invoice|account|acct|acc|customer|membership|card|policy|ticket|case|complaint|incident"
             r"|claim|ref|reference|booking|confirmation|tracking|pnr|parcel|consignment")
_REFERENCE = re.compile(
    rf"\b(?:{_KEYWORDS})\b\s*(?:no\.?|nr|num(?:ber)?|id|is|was|ending(?:\s+in)?|code|[#:=.-])?\s*#?\s*"
    r"(?=[A-Za-z0-9/-]*\d)[A-Za-z0-9][A-Za-z0-9/-]{2,}\b"
    r"|#\s?\d{3,}\b",
    re.IGNORECASE,
)
SAFETY = ("no_personal_data", "no_case_details", "fits_in_a_post")
RULE = "NOS: social-media channels; data protection"


def personal_data(text: str) -> list[str]:
    """The kinds of personal data in the text (never the values themselves)."""
    redacted = redact(text)
    found = [what for mark, what in PLACEHOLDERS.items() if redacted.count(mark) > text.count(mark)]
    if _REFERENCE.search(redacted):  # what the detectors above did not already name
        found.append("an order or reference number")
    return found


def case_details(text: str, facts: Facts, customer_id: str | None) -> list[str]:
    """The case's own details in the text: its reference, the customer's id, the findings or the redress."""
    flat = normalise(text).casefold()
    found = []
    if facts.reference.casefold() in flat:
        found.append("the case reference")
    if customer_id and len(customer_id) >= 3 and customer_id.casefold() in flat:
        found.append("the customer's id")
    if facts.findings is not None and _shares_words(flat, facts.findings.evidence):
        found.append("the findings")
    if any(re.search(pattern, flat, re.IGNORECASE) for _, pattern in OUTCOMES.values()):
        found.append("the outcome of the complaint")
    if facts.option is not None and (facts.option.amount_text and facts.option.amount_text.casefold() in flat
                                     or _shares_words(flat, facts.option.description)):
        found.append("the redress")
    return found


def _shares_words(flat: str, secret: str, window: int = 5) -> bool:
    """Whether the text repeats the secret, or any run of `window` of its words."""
    words = normalise(secret).casefold().split()
    if len(words) <= window:
        return " ".join(words) in flat
    return any(" ".join(words[i:i + window]) in flat for i in range(len(words) - window + 1))


def check_public(text: str, facts: Facts, customer_id: str | None) -> tuple[list[str], list[MissingElement]]:
    """The public-reply rules the text keeps, and those it breaks."""
    present, broken = [], []
    pii = personal_data(text)
    if pii:
        broken.append(MissingElement(
            element="no_personal_data", description="a public reply carries no personal data", rule=RULE,
            problem=f"found {', '.join(pii)}",
            fix="take it out: ask the customer to send it privately instead"))
    else:
        present.append("no_personal_data")
    details = case_details(text, facts, customer_id)
    if details:
        broken.append(MissingElement(
            element="no_case_details", description="a public reply carries no case details", rule=RULE,
            problem=f"found {', '.join(details)}",
            fix="discuss the case only in the private channel; the public reply apologises and offers it"))
    else:
        present.append("no_case_details")
    limit = facts.public.max_chars
    if len(text.strip()) > limit:
        broken.append(MissingElement(
            element="fits_in_a_post", description=f"a public reply fits in one post ({limit} characters)",
            rule="house style (public_reply.max_chars)", problem=f"it is {len(text.strip())} characters long",
            fix="shorten the note"))
    else:
        present.append("fits_in_a_post")
    return present, broken
