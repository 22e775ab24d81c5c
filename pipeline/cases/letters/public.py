"""What a public reply must never say: personal data or the case's details (NOS: social-media channels).

A reply under a customer's public post is read by everyone. It may apologise and offer a private
channel; it may not carry an email address, phone, card, account, order or reference number, nor
the case reference, the findings or the redress. Personal data is found with the same detectors
that keep it out of the logs (`pipeline.ingest.pii`); order and reference numbers with a keyword
pattern like the one the case-reference signal uses. Postcodes, dates, street addresses and names
(after a greeting or a title) are found by pattern here: the case holds no name to compare with
(messages are authored by "customer" or "agent"), so the customer's id is the one identity checked
against the case.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

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
_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
           r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
# Found in the text as written: each (pattern, what it is). Dates need a year, so "by 5 March" passes.
_PATTERNS = (
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE), "a postcode"),
    (re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b|\b\d{4}-\d{1,2}-\d{1,2}\b"
                rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\s*,?\s+\d{{4}}\b"
                rf"|\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s+\d{{4}}\b", re.IGNORECASE), "a date"),
    (re.compile(r"\b\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][a-z'-]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln"
                r"|Drive|Dr|Close|Way|Crescent|Cres|Court|Ct|Place|Pl|Gardens|Gdns|Terrace|Grove|Square|Sq|Hill"
                r"|Park|Mews|Row|Walk|Rise|View|Green|Parade|Boulevard)\b"), "a street address"),
    (re.compile(r"\b(?i:hi|hello|hey|dear|morning|afternoon|evening)\s+[A-Z][a-z'-]+\s+[A-Z][a-z'-]+"
                r"|\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][a-z'-]+"), "a person's name"),
)
# An amount of money as written: "£50", "50.00", "GBP 50", "50 pounds".
_MONEY = re.compile(r"(?:[\u00a3$\u20ac]|\b(?:gbp|usd|eur)\s?)\s?(\d[\d,]*(?:\.\d+)?)"
                    r"|\b(\d[\d,]*(?:\.\d+)?)\s?(?:pounds?|quid|dollars?|euros?|gbp|usd|eur)\b"
                    r"|(?<![\d.,])(\d[\d,]*\.\d+)\b", re.IGNORECASE)
SAFETY = ("no_personal_data", "no_case_details", "fits_in_a_post")
RULE = "NOS: social-media channels; data protection"


def personal_data(text: str) -> list[str]:
    """The kinds of personal data in the text (never the values themselves)."""
    redacted = redact(text)
    found = [what for mark, what in PLACEHOLDERS.items() if redacted.count(mark) > text.count(mark)]
    if _REFERENCE.search(redacted):  # what the detectors above did not already name
        found.append("an order or reference number")
    found.extend(what for pattern, what in _PATTERNS if pattern.search(text))
    return found


def mentions_amount(text: str, amount: Decimal) -> bool:
    """Whether the text names this sum of money in any format (£50, 50.00, £50.0 for £50.00)."""
    for match in _MONEY.finditer(text):
        written = next(g for g in match.groups() if g is not None).replace(",", "")
        try:
            if Decimal(written) == amount:
                return True
        except InvalidOperation:
            continue
    return False


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
    if facts.option is not None and (facts.option.amount_text and mentions_amount(flat, facts.option.amount)
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
