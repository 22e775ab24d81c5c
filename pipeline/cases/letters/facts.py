"""The facts a letter states, taken from the case, its clocks, its profile and the house facts.

Nothing here is made up: a fact the case does not have is None, and a letter whose elements need
it is refused with the lifecycle step that records it (`FACT_HELP`). Dates are written in the
profile's time zone; a deadline is the last day it covers (clocks end at local midnight).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from pipeline.cases.clocks import ClockKind, ClockSpec, Milestone, RegulatoryProfile, Unit
from pipeline.cases.contracts import CaseView
from pipeline.cases.letters.errors import MissingFact
from pipeline.cases.letters.render import House, Organisation, PublicStyle
from pipeline.cases.letters.requirements import LetterChannel, LetterKind
from pipeline.cases.lifecycle import FindingOutcome, Stage
from pipeline.errors import CaseInputError

CURRENCY_SYMBOLS = {"GBP": "\u00a3", "USD": "$", "EUR": "\u20ac"}
NUMBER_WORDS = dict(enumerate("zero one two three four five six seven eight nine ten eleven twelve".split()))
UNIT_WORDS = {Unit.business_days: "business days", Unit.calendar_days: "days", Unit.weeks: "weeks",
              Unit.months: "months", Unit.hours: "hours"}
ACCEPTED_STAGES = frozenset({Stage.accepted, Stage.agreed, Stage.implemented, Stage.satisfaction_checked,
                             Stage.closed})
DONE_STAGES = frozenset({Stage.implemented, Stage.satisfaction_checked, Stage.closed})


class CfpbCategory:
    """The CFPB portal's company response categories."""

    in_progress = "In progress"
    explanation = "Closed with explanation"
    non_monetary = "Closed with non-monetary relief"
    monetary = "Closed with monetary relief"


# The outcome a final response states (DISP 1.6.2R(1)): what is written, and the pattern that finds it.
OUTCOMES: dict[str, tuple[str, str]] = {
    "accepted": ("We uphold your complaint.", r"\bwe uphold your complaint\b(?!\s+in\s+part)"),
    "accepted_in_part": ("We uphold your complaint in part.", r"\bwe uphold your complaint in part\b"),
    "redress_without_accepting": (
        "We have not found that we were at fault, but without accepting your complaint we are offering to put "
        "things right.", r"\bwithout accepting\b"),
    "rejected": ("We do not uphold your complaint.", r"\bwe do not uphold your complaint\b"),
}

_REDRESS_HELP = ("the chosen option: the redress or remedial action for an upheld complaint", "offer_solution",
                 "weigh the options (`earlywarn cases option`), assess them and offer one "
                 "(`earlywarn cases transition ID offer_solution --option-id N`)")
FACT_HELP: dict[str, tuple[str, str | None, str]] = {
    "received_on": ("the date the complaint was received", "receive",
                    "receive the complaint first (`earlywarn cases transition ID receive`)"),
    "handler": ("who is handling the complaint", None, "send it as a named user (--user; the API's signed-in user)"),
    "response_due": ("a response deadline still ahead on the case's clocks", None,
                     ("none is running, or the last has already passed and a letter cannot promise a date gone "
                      "by: send the final response (or the deadlock letter, where the profile has one) instead")),
    "findings": ("the findings (outcome and evidence)", "record_findings",
                 "investigate and record them (`earlywarn cases transition ID record_findings --outcome ... "
                 "--evidence ...`, POST /cases/{id}/transitions)"),
    "redress": _REDRESS_HELP,
    "category": _REDRESS_HELP,
    "resolution": ("the customer's acceptance of a resolution", "accept",
                   "offer a solution and record that the customer accepted it (`earlywarn cases transition ID "
                   "accept`, or `agree` after negotiating)"),
    "waiver": ("the organisation's position on the time-limit waiver", None,
               "set letters.waive_time_limits in the profile, or pass waive_time_limits"),
    "referral": ("the scheme's referral window on the case's clocks", None,
                 "add a window clock that starts with this letter to the profile (profiles.yaml)"),
    "delay_reason": ("why the final response is not ready yet", None,
                     "say why (--delay-reason; API: delay_reason)"),
    "expected_by": ("the date the final response will be sent", None,
                    "give it (--expected-by YYYY-MM-DD; API: expected_by)"),
}


# A fact derived from another is not reported missing while that one is: the first step comes first.
DERIVED_FROM = {"redress": "findings", "outcome": "findings"}


def missing_facts(facts: Facts, needed: list[str]) -> list[MissingFact]:
    absent = [name for name in needed if getattr(facts, name) is None]
    return [missing_fact(name) for name in absent if DERIVED_FROM.get(name) not in absent]


def missing_fact(name: str) -> MissingFact:
    description, step, fix = FACT_HELP[name]
    return MissingFact(fact=name, description=description, step=step, fix=fix)


@dataclass(frozen=True)
class CaseFacts:
    id: int
    reference: str
    channel: str
    profile: str


@dataclass(frozen=True)
class Findings:
    outcome: str
    evidence: str


@dataclass(frozen=True)
class Outcome:
    form: str  # accepted | accepted_in_part | redress_without_accepting | rejected
    statement: str
    pattern: str


@dataclass(frozen=True)
class OptionFacts:
    description: str
    amount: Decimal
    amount_text: str | None  # None when the option pays nothing (remedial action only)
    done: bool  # already implemented


@dataclass(frozen=True)
class Redress:
    statement: str


@dataclass(frozen=True)
class Waiver:
    consents: bool
    statement: str


@dataclass(frozen=True)
class Referral:
    clock: str
    period: str  # "six months"
    until: str  # the last day of the window, if the letter is sent today
    pattern: str


@dataclass(frozen=True)
class Scheme:
    name: str
    website: str
    leaflet: str | None


@dataclass(frozen=True)
class Facts:
    kind: str
    channel: str
    requires: tuple[str, ...]
    case: CaseFacts
    organisation: Organisation
    public: PublicStyle
    scheme: Scheme | None
    today: str
    handler: str | None
    received_on: str | None
    response_due: str | None
    findings: Findings | None
    outcome: Outcome | None
    option: OptionFacts | None
    redress: Redress | None
    resolution: str | None
    waiver: Waiver | None
    referral: Referral | None
    delay_reason: str | None
    expected_by: str | None
    category: str | None
    note: str | None

    @property
    def reference(self) -> str:
        return self.case.reference

    def context(self) -> dict[str, object]:
        """What a template sees: every fact by name (None where the case lacks it)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Inputs:
    """What the handler adds to a letter: the parts no record of the case holds."""

    expected_by: date | None = None
    delay_reason: str | None = None
    waive_time_limits: bool | None = None
    note: str | None = None


def money(amount: Decimal, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def last_day(due: datetime, profile: RegulatoryProfile) -> date:
    """A clock ends at local midnight after its last day: that day is what a letter names."""
    return (due.astimezone(profile.zone) - timedelta(microseconds=1)).date()


def period(spec: ClockSpec) -> tuple[str, str]:
    """The window's length in words ("six months") and a pattern accepting words or digits."""
    n, unit = spec.duration, UNIT_WORDS[spec.unit]
    if n == 1:
        unit = unit.removesuffix("s")
    word = NUMBER_WORDS.get(n, str(n))
    unit_re = r"\s+".join(re.escape(w) for w in unit.split())
    return f"{word} {unit}", rf"\b(?:{re.escape(word)}|{n})\s+{unit_re}\b"


def _spec(profile: RegulatoryProfile, name: str) -> ClockSpec | None:
    return next((c for c in profile.clocks if c.name == name), None)


def response_due(case: CaseView, profile: RegulatoryProfile, now: datetime) -> str | None:
    """The latest pending deadline that a final response stops: when the customer will have our answer.
    A breached one is no promise to make, so only those still ahead count."""
    pending = []
    for d in case.deadlines:
        spec = _spec(profile, d.clock)
        if (spec is not None and spec.kind is ClockKind.deadline and Milestone.final_response in spec.stopped_by
                and d.due_at is not None and d.met_at is None and d.due_at > now):
            pending.append(d.due_at)
    return day(last_day(max(pending), profile)) if pending else None


def referral(profile: RegulatoryProfile, starts: Milestone | None, now: datetime) -> Referral | None:
    """The scheme's window a letter opens (the clock starting at the letter's milestone), if it were sent now."""
    spec = next((c for c in profile.clocks if c.kind is ClockKind.window and starts is not None
                 and c.starts is starts), None)
    if spec is None:
        return None
    words, pattern = period(spec)
    return Referral(clock=spec.name, period=words, until=day(last_day(profile.due(spec, now), profile)),
                    pattern=pattern)


def expected_by(case: CaseView, profile: RegulatoryProfile, given: date | None, today: date) -> str | None:
    """The handler's date for the final response, within any extended limit the holding reply allows."""
    received = case.milestones.get(Milestone.received.value)
    spec = next((c for c in profile.clocks if c.extended_by is Milestone.holding_response), None)
    limit = None
    if spec is not None and received is not None:
        limit = last_day(profile.due(spec, received, spec.extended_duration), profile)
    if given is None:
        return day(limit) if limit is not None else None
    if given <= today:
        raise CaseInputError("expected_by", f"{given.isoformat()} is not after today ({today.isoformat()})",
                             "give the date you expect to send the final response")
    if limit is not None and given > limit:
        raise CaseInputError("expected_by", f"{given.isoformat()} is after {limit.isoformat()}, the latest the "
                             f"final response may come after a holding reply ({spec.rule})",  # type: ignore[union-attr]
                             f"give a date no later than {limit.isoformat()}")
    return day(given)


def gather(
    case: CaseView,
    profile: RegulatoryProfile,
    house: House,
    kind: LetterKind,
    channel: LetterChannel,
    requires: tuple[str, ...],
    inputs: Inputs,
    handler: str | None,
    now: datetime,
    opens: Milestone | None,
) -> Facts:
    """Every fact the letter may state; those the case lacks are None."""
    rules = profile.letters
    today = now.astimezone(profile.zone).date()
    received = case.milestones.get(Milestone.received.value)
    findings = (Findings(case.findings_outcome, case.findings_evidence.strip())
                if case.findings_outcome and case.findings_evidence else None)
    chosen = next((o for o in case.options if o.id == case.chosen_option_id), None)
    option = None
    if chosen is not None:
        description = chosen.description.strip().rstrip(".;:, ")
        option = OptionFacts(description=description, amount=chosen.redress,
                             amount_text=money(chosen.redress, rules.currency) if chosen.redress > 0 else None,
                             done=Stage(case.stage) in DONE_STAGES)
    outcome = _outcome(findings, option)
    redress = _redress(findings, option)
    consents = rules.waive_time_limits if inputs.waive_time_limits is None else inputs.waive_time_limits
    scheme = (Scheme(rules.scheme.name, rules.scheme.website, rules.scheme.leaflet) if rules.scheme else None)
    accepted = Stage(case.stage) in ACCEPTED_STAGES and case.satisfied is not False and option is not None
    return Facts(
        kind=kind.value, channel=channel.value, requires=requires,
        case=CaseFacts(id=case.id, reference=house.reference_of(case.id), channel=case.channel, profile=profile.name),
        organisation=house.organisation, public=house.public_reply, scheme=scheme,
        today=day(today), handler=handler or None,
        received_on=day(received.astimezone(profile.zone).date()) if received else None,
        response_due=response_due(case, profile, now),
        findings=findings, outcome=outcome, option=option, redress=redress,
        resolution=option.description if accepted and option else None,
        waiver=_waiver(consents, scheme.name if scheme else "the ombudsman") if "waiver_position" in requires else None,
        referral=referral(profile, opens, now),
        delay_reason=(inputs.delay_reason or "").strip() or None,
        expected_by=expected_by(case, profile, inputs.expected_by, today) if "expected_date" in requires else None,
        category=_category(findings, option, redress),
        note=(inputs.note or "").strip() or None,
    )


def _outcome(findings: Findings | None, option: OptionFacts | None) -> Outcome | None:
    if findings is None:
        return None
    if findings.outcome == FindingOutcome.justified:
        form = "accepted"
    elif findings.outcome == FindingOutcome.partly_justified:
        form = "accepted_in_part"
    else:
        form = "redress_without_accepting" if option is not None else "rejected"
    statement, pattern = OUTCOMES[form]
    return Outcome(form=form, statement=statement, pattern=pattern)


def _redress(findings: Findings | None, option: OptionFacts | None) -> Redress | None:
    if findings is None:
        return None
    if option is None:
        if findings.outcome != FindingOutcome.unjustified:
            return None  # upheld, and no redress chosen yet: the letter cannot say what we will do
        return Redress("We are not offering any payment or other redress.")
    if option.done:
        text = f"To put things right, we have done what we agreed: {option.description}."
        paid = f" This included a payment of {option.amount_text}." if option.amount_text else ""
    else:
        text = f"To put things right, we are offering: {option.description}."
        paid = f" This includes a payment of {option.amount_text}." if option.amount_text else ""
    return Redress(text + paid)


def _waiver(consents: bool, scheme: str) -> Waiver:
    if consents:
        return Waiver(True, f"We consent to the {scheme} considering your complaint even if you refer it after "
                            "the time limits that normally apply.")
    return Waiver(False, f"We do not consent to the {scheme} considering your complaint if you refer it after "
                         "the time limits, so it could then consider it only in very limited circumstances, for "
                         "example if exceptional circumstances caused the delay.")


def _category(findings: Findings | None, option: OptionFacts | None, redress: Redress | None) -> str | None:
    if findings is None:
        return CfpbCategory.in_progress
    if redress is None:
        return None  # upheld without a chosen option: which relief is not known yet
    if option is None:
        return CfpbCategory.explanation
    return CfpbCategory.monetary if option.amount_text else CfpbCategory.non_monetary
