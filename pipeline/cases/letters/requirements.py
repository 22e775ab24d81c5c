"""What a customer letter must contain, and the check that finds each element in the rendered text.

A regulatory profile lists, per letter kind, the elements its letters must contain
(`profiles.yaml`, `letters.required`). Each element here says what it is, which rule asks for it,
which case facts it needs, and what must appear in the rendered letter: a fact from the case
verbatim (the reference, the redress amount, the scheme's website) or a phrase that carries the
statement (the six-month limit, the firm's position on the time-limit waiver). The check runs on
the letter as rendered, so an edited or overriding template that drops an element is caught before
anything is sent, whoever wrote the template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pipeline.cases.clocks import RegulatoryProfile
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.cases.letters.facts import Facts


class LetterKind(StrEnum):
    acknowledgement = "acknowledgement"
    summary_resolution = "summary_resolution"  # DISP 1.5: resolved by the end of the third business day
    holding_response = "holding_response"  # DISP 1.6.2R(2) / 1.6.2AR: why no final response yet, and when
    final_response = "final_response"  # DISP 1.6.2R(1): accept, offer without accepting, or reject
    deadlock_letter = "deadlock_letter"  # Ofcom / Ofgem: the final position, and the way to ADR
    company_response = "company_response"  # CFPB portal response, in one of its response categories
    public_reply = "public_reply"  # a short reply to a public social post: no case details, a private channel


class LetterChannel(StrEnum):
    email = "email"
    letter = "letter"  # the formal letter: printed and posted, or attached as a document
    social = "social"  # a public reply under the customer's post


FORMAL = (LetterChannel.email, LetterChannel.letter)
CHANNELS: dict[LetterKind, tuple[LetterChannel, ...]] = {
    **{kind: FORMAL for kind in LetterKind if kind is not LetterKind.public_reply},
    LetterKind.public_reply: (LetterChannel.social,),
}


class MissingElement(BaseModel):
    """One requirement a rendered letter does not meet, with what to do about it."""

    element: str
    description: str
    rule: str
    problem: str
    fix: str


@dataclass(frozen=True)
class Needle:
    """Something that must appear in the letter; `label` is how a refusal names it. A date needle is
    not met by the letter's own date line (the letterhead's {{ today }}), which may be the same day."""

    label: str
    pattern: re.Pattern[str]
    date: bool = False


def literal(label: str, value: str) -> Needle:
    """The fact's value, word for word (whitespace and case aside), not inside a longer word or number:
    "3 March 2026" is not found in "13 March 2026"."""
    return Needle(label, re.compile(rf"(?<!\w){re.escape(normalise(value))}(?!\w)", re.IGNORECASE))


def dated(label: str, value: str) -> Needle:
    """A date the letter states in its text, not only in its date line."""
    return Needle(label, literal(label, value).pattern, date=True)


def without_date_line(text: str, today: str) -> str:
    """The text less any line that is only the letter's date ("24 November 2026", "Date: 24 November 2026")."""
    line = re.compile(rf"(?:date\s*:?\s*)?{re.escape(normalise(today))}", re.IGNORECASE)
    return "\n".join(x for x in text.splitlines() if not line.fullmatch(normalise(x)))


def phrase(label: str, regex: str) -> Needle:
    return Needle(label, re.compile(regex, re.IGNORECASE))


def normalise(text: str) -> str:
    """Templates wrap lines where they like; the checks read the text as one line of single spaces."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Element:
    name: str
    description: str
    rule: str
    facts: tuple[str, ...]  # the case facts it needs; a letter needing an absent fact is not written
    needles: Callable[[Facts], list[Needle]]  # all must appear
    fix: str
    scheme: bool = False  # needs the profile's redress scheme


def _scheme_name(f: Facts) -> str:
    return re.escape(normalise(f.scheme.name))


def _outcome(f: Facts) -> list[Needle]:
    return [phrase(f"the outcome: \u201c{f.outcome.statement}\u201d", f.outcome.pattern)]


def _redress(f: Facts) -> list[Needle]:
    if f.option is None:
        return [phrase("that no redress is offered", NO_REDRESS)]
    needles = [literal(f"the redress offered: \u201c{f.option.description}\u201d", f.option.description)]
    if f.option.amount_text:
        needles.append(literal(f"the amount: {f.option.amount_text}", f.option.amount_text))
    return needles


def _waiver(f: Facts) -> list[Needle]:
    if f.waiver.consents:
        return [phrase("that we consent to the scheme considering a late referral",
                       r"\bwe (?:consent|agree)\b.{0,160}\btime limits?\b")]
    return [phrase("that we do not consent to the scheme considering a late referral",
                   r"\bwe (?:do not|don't) (?:consent|agree)\b.{0,160}\btime limits?\b")]


def _explanation(f: Facts) -> list[Needle]:
    if f.findings is None:
        return [dated(f"when the full response will follow ({f.response_due})", f.response_due)]
    return [literal("the reasons (the findings' evidence)", f.findings.evidence)]


def _relief(f: Facts) -> list[Needle]:
    if f.option is None:
        return []  # closed with explanation, or still in progress: no relief to state
    return _redress(f)


NO_REDRESS = r"\bnot offering (?:any )?(?:payment|redress|compensation)|\bno (?:payment|redress|compensation)\b"
TEMPLATE_FIX = "put it back in the template ({template}), or remove the override from EARLYWARN_LETTERS_DIR"

ELEMENTS: dict[str, Element] = {e.name: e for e in (
    Element("case_reference", "the case reference, so the customer can quote it", "DISP 1.6.1R; every sector's code",
            (), lambda f: [literal(f"the reference {f.reference}", f.reference)],
            "write {{ case.reference }} in the letter"),
    Element("received_date", "the date the complaint was received", "DISP 1.6.1R", ("received_on",),
            lambda f: [dated(f"the date received ({f.received_on})", f.received_on)],
            "write {{ received_on }} in the letter"),
    Element("response_due", "when the customer will have our response, from the case's clocks",
            "DISP 1.6.1R (keep the complainant informed)", ("response_due",),
            lambda f: [dated(f"the response date ({f.response_due})", f.response_due)],
            "write {{ response_due }} in the letter"),
    Element("complaints_procedure", "where to read our complaints-handling procedure", "DISP 1.2.1R",
            (), lambda f: [literal("the complaints procedure link", f.organisation.complaints_procedure)],
            "write {{ organisation.complaints_procedure }} in the letter"),
    Element("handler_name", "who is handling the complaint", "DISP 1.6.1R; every sector's code", ("handler",),
            lambda f: [literal(f"the handler ({f.handler})", f.handler)],
            "sign the letter with {{ handler }}"),
    Element("resolved_statement", "that the complaint is now considered resolved, on the customer's acceptance",
            "DISP 1.5.4R", ("resolution",),
            lambda f: [phrase("that we consider the complaint resolved",
                              r"\bconsider\w*\s+(?:your|the|this)\s+complaint\s+(?:to\s+be\s+|as\s+)?resolved\b"
                              r"|\bcomplaint\s+(?:is|has\s+been)\s+(?:now\s+)?(?:considered\s+)?resolved\b"),
                       literal("what the customer accepted", f.resolution)],
            "say that the complaint is considered resolved and what the customer accepted ({{ resolution }})"),
    Element("outcome", "whether we uphold the complaint, offer redress without accepting it, or reject it",
            "DISP 1.6.2R(1) (final response)", ("findings",), _outcome,
            "state the outcome with {{ outcome.statement }}"),
    Element("reasons", "the reasons for the outcome (the findings)", "DISP 1.6.2R(1) (final response)", ("findings",),
            lambda f: [literal("the findings' evidence", f.findings.evidence)],
            "give the reasons with {{ findings.evidence }}"),
    Element("redress_or_none", "the redress or remedial action offered, or that none is",
            "DISP 1.6.2R(1) (final response)", ("findings", "redress"), _redress,
            "state the redress with {{ redress.statement }}"),
    Element("ombudsman_referral_right", "that the customer may refer the complaint to the scheme",
            "DISP 1.6.2R, 1.5.4R; Ofcom GC C4; Ofgem CHS Regulations", (),
            lambda f: [phrase(f"the right to refer the complaint to {f.scheme.name}",
                              rf"\b(?:refer|take)\b.{{0,80}}?{_scheme_name(f)}")],
            "say the customer may refer the complaint to {{ scheme.name }}", scheme=True),
    Element("refer_now", "that the customer may refer the complaint now, without waiting for the final response",
            "DISP 1.6.2R(2) (holding response)", (),
            lambda f: [phrase("that the customer may refer it now",
                              r"\bnow\s+refer\b|\brefer\b.{0,100}?\bnow\b|\bdo not have to wait\b")],
            "say the customer can now refer the complaint", scheme=True),
    Element("referral_time_limit", "how long the customer has to refer the complaint, from the scheme's window clock",
            "DISP 2.8.2R / scheme rules", ("referral",),
            lambda f: [phrase(f"the time limit ({f.referral.period})", f.referral.pattern)],
            "state the limit with {{ referral.period }}"),
    Element("ombudsman_website", "the scheme's website", "DISP 1.6.2R, 1.5.4R; Ofcom GC C4; Ofgem CHS Regulations", (),
            lambda f: [literal(f"the website {f.scheme.website}", f.scheme.website)],
            "write {{ scheme.website }} in the letter", scheme=True),
    Element("ombudsman_leaflet", "the scheme's explanatory leaflet, enclosed or attached",
            "DISP 1.6.2R (the standard explanatory leaflet)", (),
            lambda f: [literal("the leaflet's name", f.scheme.leaflet or ""),
                       phrase("that it is enclosed or attached", r"\b(?:enclose\w*|attach\w*)\b")],
            "enclose or attach {{ scheme.leaflet }} and say so", scheme=True),
    Element("waiver_position", "whether we consent to the scheme considering a referral made after its time limits",
            "DISP 1.6.2R, 1.5.4R, DISP 1 Annex 3R", ("waiver",), _waiver,
            "state the position with {{ waiver.statement }}"),
    Element("delay_reason", "why the final response is not ready yet", "DISP 1.6.2R(2) / 1.6.2AR",
            ("delay_reason",), lambda f: [literal("the reason for the delay", f.delay_reason)],
            "give the reason with {{ delay_reason }}"),
    Element("expected_date", "when we expect to send the final response", "DISP 1.6.2R(2) / 1.6.2AR",
            ("expected_by",), lambda f: [dated(f"the expected date ({f.expected_by})", f.expected_by)],
            "give the date with {{ expected_by }}"),
    Element("deadlock_statement", "that this is our final position and the complaint is at deadlock",
            "Ofcom complaints code / Ofgem CHS Regulations", (),
            lambda f: [phrase("the deadlock statement", r"\bdeadlock\b|\bfinal position\b")],
            "say the complaint has reached deadlock (our final position)"),
    Element("adr_eight_weeks", "the customer's entitlement to go to the scheme after eight weeks or on deadlock",
            "Ofcom GC C4 / Ofgem CHS Regulations", (),
            lambda f: [phrase("the eight-week entitlement", r"\b(?:eight|8)\s+weeks\b")],
            "say the customer may go to the scheme once eight weeks have passed"),
    Element("free_of_charge", "that the scheme is free for the customer", "Ofcom GC C4 / Ofgem CHS Regulations", (),
            lambda f: [phrase("that the scheme is free", r"\bfree\s+of\s+charge\b|\bcosts?\s+you\s+nothing\b")],
            "say the scheme costs the customer nothing"),
    Element("response_category", "the CFPB portal response category", "CFPB company response", ("category",),
            lambda f: [literal(f"the category \u201c{f.category}\u201d", f.category)],
            "state the category with {{ category }}"),
    Element("explanation", "the explanation the consumer reads: the reasons, or when the full response follows",
            "CFPB company response", ("category",), _explanation,
            "explain with {{ findings.evidence }} (closed) or {{ response_due }} (in progress)"),
    Element("relief", "the monetary or non-monetary relief given", "CFPB company response", ("category",), _relief,
            "state the relief with {{ redress.statement }}"),
    Element("private_channel", "an offer to continue in a private channel (a direct message or a link)",
            "NOS: social-media channels (move the conversation out of public view)", (),
            lambda f: [Needle("an offer of a private channel", re.compile(
                "|".join([r"\b(?:dm|direct\s+message|private\s+message|message\s+us\s+privately)\b",
                          *(re.escape(normalise(v)) for v in (f.public.private_link, f.public.private_channel) if v)]),
                re.IGNORECASE))],
            "offer a private channel ({{ public.private_channel }} or {{ public.private_link }})"),
)}


def check_rules(profile: RegulatoryProfile) -> None:
    """A profile's letter requirements name only known kinds and elements, and a scheme where one is needed."""
    where = f"profile '{profile.name}', letters.required"
    for kind, elements in profile.letters.required.items():
        if kind not in LetterKind.__members__:
            raise ConfigError(where, f"unknown letter kind '{kind}'; choose from {', '.join(LetterKind)}")
        for name in elements:
            element = ELEMENTS.get(name)
            if element is None:
                raise ConfigError(f"{where}.{kind}", f"unknown element '{name}'; the catalogue has "
                                  f"{', '.join(ELEMENTS)}")
            if element.scheme and profile.letters.scheme is None:
                raise ConfigError(f"{where}.{kind}", f"'{name}' needs the redress scheme: add letters.scheme "
                                  "(name, website, leaflet)")
            if name == "ombudsman_leaflet" and not profile.letters.scheme.leaflet:  # type: ignore[union-attr]
                raise ConfigError(f"{where}.{kind}", "'ombudsman_leaflet' needs letters.scheme.leaflet")


def verify(text: str, elements: tuple[str, ...], facts: Facts, template: str) -> tuple[list[str], list[MissingElement]]:
    """Which of the elements the rendered text contains, and what is missing from it."""
    flat = normalise(text)
    body = normalise(without_date_line(text, facts.today))
    present, missing = [], []
    for name in elements:
        element = ELEMENTS[name]
        absent = [n.label for n in element.needles(facts) if not n.pattern.search(body if n.date else flat)]
        if absent:
            missing.append(MissingElement(
                element=name, description=element.description, rule=element.rule,
                problem=f"not found: {'; '.join(absent)}",
                fix=f"{element.fix}; {TEMPLATE_FIX.format(template=template)}"))
        else:
            present.append(name)
    return present, missing


def facts_needed(elements: tuple[str, ...]) -> list[str]:
    seen: dict[str, Any] = {}
    for name in elements:
        for fact in ELEMENTS[name].facts:
            seen.setdefault(fact, None)
    return list(seen)
