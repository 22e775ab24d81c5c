"""Compose a letter from a case, check it against the profile, and send it as a communication.

    letter = compose_letter(service, case_id, "final_response", "email")   # renders and checks; writes nothing
    letter.missing                                                          # [] when every element is there
    case = deliver(service, actor, letter)                                  # records it; the clocks move

Sending records the letter with `CaseService.add_communication` under the communication kind that
moves the right clocks: a final response stops the eight-week clock and opens the six-month
referral window, a deadlock letter opens the ADR window, and an acknowledgement sent while the
case is `received` also takes the lifecycle's `acknowledge` step, which stops the acknowledgement
clock. Both go through the service, so authority, the transition table and the audit log apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from pipeline.cases.clocks import Milestone, RegulatoryProfile
from pipeline.cases.contracts import (
    Actor,
    CaseView,
    CommunicationKind,
    CommunicationRequest,
    CommunicationView,
    Direction,
    TransitionRequest,
)
from pipeline.cases.letters.errors import LetterFactMissing, LetterIncomplete
from pipeline.cases.letters.facts import CfpbCategory, Facts, Inputs, day, gather, last_day, missing_facts
from pipeline.cases.letters.public import SAFETY, check_public
from pipeline.cases.letters.render import load_house, render
from pipeline.cases.letters.requirements import (
    CHANNELS,
    LetterChannel,
    LetterKind,
    MissingElement,
    check_rules,
    facts_needed,
    verify,
)
from pipeline.cases.lifecycle import Action, Stage
from pipeline.cases.service import MILESTONE_KINDS, CaseService
from pipeline.config import Settings, get_settings
from pipeline.errors import CaseInputError, VersionConflictError
from pipeline.schema import Channel

RECORDS: dict[LetterKind, CommunicationKind] = {
    LetterKind.acknowledgement: CommunicationKind.acknowledgement,
    LetterKind.summary_resolution: CommunicationKind.summary_resolution,
    LetterKind.holding_response: CommunicationKind.holding_response,
    LetterKind.final_response: CommunicationKind.final_response,
    LetterKind.deadlock_letter: CommunicationKind.deadlock_letter,
    LetterKind.public_reply: CommunicationKind.public_reply,
    # company_response: "In progress" is a holding response, a closing category a final one (see _records)
}
# The case store's channels have no "post": a formal letter is recorded as written correspondence (email).
RECORDED_CHANNEL = {LetterChannel.email: Channel.email, LetterChannel.letter: Channel.email,
                    LetterChannel.social: Channel.social}
CLOSING = (Milestone.summary_resolution, Milestone.final_response, Milestone.deadlock_letter)
INPUT_FACTS = frozenset({"handler", "delay_reason", "expected_by"})  # given with the letter, not by the case

Note = Annotated[str, Field(min_length=1, max_length=2_000)]


class LetterInputs(BaseModel):
    """What the handler adds to a letter; everything else comes from the case."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    expected_by: date | None = Field(default=None, description="holding response: when the final response "
                                     "will be sent (payment services: the extended limit if empty)")
    delay_reason: Note | None = Field(default=None, description="holding response: why it is not ready yet")
    waive_time_limits: bool | None = Field(default=None, description="FCA: consent to a late referral; the "
                                           "profile's standing position if empty")
    note: Note | None = Field(default=None, description="a paragraph of your own (a public reply's opening)")


class LetterRequest(LetterInputs):
    """POST /cases/{id}/letters."""

    kind: LetterKind
    channel: LetterChannel = LetterChannel.email
    preview: bool = Field(default=False, description="render and check only; record nothing")
    version: int | None = Field(default=None, description="the version you read; a stale one gets 409")


class Letter(BaseModel):
    case_id: int
    case_version: int
    profile: str
    kind: LetterKind
    channel: LetterChannel
    communication_kind: CommunicationKind
    lifecycle_action: Action | None = Field(description="the lifecycle step sending it also takes")
    category: str | None = Field(description="CFPB: the portal response category")
    subject: str | None
    body: str
    template: str
    required: list[str]
    elements_present: list[str]
    missing: list[MissingElement]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        return not self.missing


class LetterResult(BaseModel):
    """What the API answers: the letter and, once sent, the communication it became and the case."""

    letter: Letter
    communication: CommunicationView | None = None
    case: CaseView | None = None


class LetterOffer(BaseModel):
    kind: LetterKind
    channels: list[LetterChannel]
    required: list[str]


def _profile(profiles: Mapping[str, RegulatoryProfile] | RegulatoryProfile, case: CaseView) -> RegulatoryProfile:
    return profiles if isinstance(profiles, RegulatoryProfile) else profiles[case.profile]


def _sent_on(case: CaseView, milestone: Milestone, profile: RegulatoryProfile) -> str:
    return day(case.milestones[milestone.value].astimezone(profile.zone).date())


def unavailable(case: CaseView, profile: RegulatoryProfile, kind: LetterKind) -> tuple[str, str] | None:
    """Why this letter makes no sense for the case's profile and stage (and what to do), or None."""
    offered = profile.letters.required
    if kind.value not in offered:
        choices = ", ".join(offered) or "none"
        return (f"the {profile.title} profile sends no {kind.value.replace('_', ' ')}",
                f"its letters are: {choices}")
    if kind is LetterKind.public_reply:
        if case.channel != Channel.social.value:
            return "the case did not come from a public post", "write to the customer in the channel they used"
        return None
    stage = Stage(case.stage)
    if not stage.is_complaint:
        if not stage.is_open:  # prevented or dismissed: receiving it needs a reopen first
            return (f"the case was settled as {stage.value.replace('_', ' ')}, not received as a complaint",
                    "reopen it (`earlywarn cases transition ID reopen --reason …`) and receive it first")
        return ("the case is an early warning, not a complaint",
                "receive it first (`earlywarn cases transition ID receive`), or answer the post with a public reply")
    done = next((m for m in CLOSING if m.value in case.milestones), None)
    if done is not None:
        return (f"a {done.value.replace('_', ' ')} was already sent on {_sent_on(case, done, profile)}",
                "record any further contact with `earlywarn cases communicate`")
    if not stage.is_open and kind not in (LetterKind.final_response, LetterKind.deadlock_letter,
                                          LetterKind.company_response):
        return "the case is closed", "reopen it first, or send the closing letter it is still owed"
    if kind is LetterKind.acknowledgement:
        sent = [c for c in case.communications if c.kind == CommunicationKind.acknowledgement]
        if sent:
            return (f"an acknowledgement was already sent on {day(sent[0].at.astimezone(profile.zone).date())}",
                    "send the next letter the case calls for")
    if kind is LetterKind.summary_resolution:
        window = next((d for d in case.deadlines if d.clock == "summary_resolution"), None)
        if window is not None and window.status == "expired" and window.due_at is not None:
            return (f"the summary resolution window closed at the end of {day(last_day(window.due_at, profile))} "
                    f"({window.rule})", "send a final response instead")
    if Milestone.holding_response.value in case.milestones:
        if kind is LetterKind.holding_response:
            return (f"a holding response was already sent on {_sent_on(case, Milestone.holding_response, profile)}",
                    "send the final response")
        if kind is LetterKind.company_response and not case.findings_outcome:
            return (f"the in-progress response was sent on {_sent_on(case, Milestone.holding_response, profile)}",
                    "record the findings, then send the closing response")
    return None


def _opens(kind: LetterKind, case: CaseView) -> Milestone | None:
    """The milestone sending this letter records (so the clock it starts can be dated in the letter)."""
    return MILESTONE_KINDS.get(_records(kind, CfpbCategory.in_progress if not case.findings_outcome else None))


def _records(kind: LetterKind, category: str | None) -> CommunicationKind:
    if kind is LetterKind.company_response:
        return (CommunicationKind.holding_response if category == CfpbCategory.in_progress
                else CommunicationKind.final_response)
    return RECORDS[kind]


def _facts(case: CaseView, profile: RegulatoryProfile, kind: LetterKind, channel: LetterChannel,
           inputs: LetterInputs, handler: str | None, now: datetime, letters_dir: Any) -> Facts:
    required = tuple(profile.letters.required.get(kind.value, ()))
    return gather(case, profile, load_house(letters_dir), kind, channel, required,
                  Inputs(**inputs.model_dump()), handler, now, _opens(kind, case))


def kinds_available(
    case: CaseView,
    profiles: Mapping[str, RegulatoryProfile] | RegulatoryProfile,
    settings: Settings | None = None,
) -> list[LetterKind]:
    """The letters that make sense for the case now: its profile sends them, its stage calls for them,
    and it holds every fact they state (the handler's own inputs aside). The case page offers these."""
    profile = _profile(profiles, case)
    check_rules(profile)
    letters_dir = (settings or get_settings()).letters_dir
    out = []
    for kind in LetterKind:
        if unavailable(case, profile, kind) is not None:
            continue
        facts = _facts(case, profile, kind, CHANNELS[kind][0], LetterInputs(), case.owner, datetime.now(UTC),
                       letters_dir)
        needed = facts_needed(tuple(profile.letters.required[kind.value]))
        if all(getattr(facts, name) is not None for name in needed if name not in INPUT_FACTS):
            out.append(kind)
    return out


def offers(case: CaseView, profiles: Mapping[str, RegulatoryProfile] | RegulatoryProfile,
           settings: Settings | None = None) -> list[LetterOffer]:
    """`kinds_available` with each kind's channels and required elements, for a form."""
    profile = _profile(profiles, case)
    return [LetterOffer(kind=k, channels=list(CHANNELS[k]), required=list(profile.letters.required[k.value]))
            for k in kinds_available(case, profile, settings)]


def compose_letter(
    service: CaseService,
    case_id: int,
    kind: LetterKind | str,
    channel: LetterChannel | str = LetterChannel.email,
    settings: Settings | None = None,
    *,
    handler: str | None = None,
    inputs: LetterInputs | None = None,
    version: int | None = None,
) -> Letter:
    """Render the letter from the case's facts and check it against the profile; writes nothing.

    Refuses (LetterFactMissing) when the case lacks a fact the letter states, and (CaseInputError)
    when the letter makes no sense for the case. A letter lacking a required element is returned
    with `missing` filled in, so a preview can show what to fix; `deliver` refuses to send it."""
    kind, channel = LetterKind(kind), LetterChannel(channel)
    letters_dir = (settings or get_settings()).letters_dir
    inputs = inputs or LetterInputs()
    case = service.get_case(case_id)
    if version is not None and version != case.version:
        raise VersionConflictError(case_id, version, case.version)
    profile = service.profiles[case.profile]
    check_rules(profile)
    refusal = unavailable(case, profile, kind)
    if refusal is not None:
        raise CaseInputError("kind", refusal[0], refusal[1])
    if channel not in CHANNELS[kind]:
        raise CaseInputError("channel", f"a {kind.value.replace('_', ' ')} is not sent by {channel.value}",
                             f"choose {' or '.join(CHANNELS[kind])}")
    required = tuple(profile.letters.required[kind.value])
    facts = _facts(case, profile, kind, channel, inputs, handler or case.owner, service.now(), letters_dir)
    absent = missing_facts(facts, facts_needed(required))
    if absent:
        raise LetterFactMissing(case_id, kind.value, absent)
    rendered = render(letters_dir, kind.value, channel.value, facts.context())
    template_file = rendered.template.rsplit("/", 1)[-1]
    present, missing = verify(rendered.body, required, facts, template_file)
    if kind is LetterKind.public_reply:
        kept, broken = check_public(f"{rendered.subject or ''}\n{rendered.body}", facts, case.customer_id)
        required, present, missing = (*required, *SAFETY), [*present, *kept], [*missing, *broken]
    acknowledges = (kind is LetterKind.acknowledgement and Stage(case.stage) is Stage.received)
    return Letter(
        case_id=case.id, case_version=case.version, profile=profile.name, kind=kind, channel=channel,
        communication_kind=_records(kind, facts.category),
        lifecycle_action=Action.acknowledge if acknowledges else None,
        category=facts.category if kind is LetterKind.company_response else None,
        subject=rendered.subject, body=rendered.body, template=rendered.template,
        required=list(required), elements_present=present, missing=missing,
    )


def content_of(letter: Letter) -> str:
    """The text recorded on the case: what the customer received, with its subject."""
    head = "Formal letter (printed or attached).\n\n" if letter.channel is LetterChannel.letter else ""
    subject = f"Subject: {letter.subject}\n\n" if letter.subject else ""
    return f"{head}{subject}{letter.body}"


def deliver(service: CaseService, actor: Actor, letter: Letter) -> CaseView:
    """Record a composed letter on its case, or refuse one that lacks a required element.

    Only the case as the letter read it is written to: if the case changed since (a new finding, a
    new option), the service answers VersionConflictError and the letter must be composed again."""
    if letter.missing:
        raise LetterIncomplete(letter.case_id, letter.kind.value, letter.channel.value, letter.profile,
                               letter.missing)
    version = letter.case_version
    if letter.lifecycle_action is not None:
        service.transition(actor, letter.case_id, TransitionRequest(
            action=letter.lifecycle_action, version=version,
            note=f"{letter.kind.value.replace('_', ' ')} sent by {letter.channel.value}"))
        version += 1
    return service.add_communication(actor, letter.case_id, CommunicationRequest(
        channel=RECORDED_CHANNEL[letter.channel], direction=Direction.outbound, kind=letter.communication_kind,
        content=content_of(letter), version=version))


def send_letter(
    service: CaseService,
    actor: Actor,
    case_id: int,
    kind: LetterKind | str,
    channel: LetterChannel | str = LetterChannel.email,
    settings: Settings | None = None,
    *,
    inputs: LetterInputs | None = None,
    version: int | None = None,
) -> CaseView:
    """Compose the letter as `actor`, check it, and record it on the case; returns the case after."""
    letter = compose_letter(service, case_id, kind, channel, settings, handler=actor.username, inputs=inputs,
                            version=version)
    return deliver(service, actor, letter)
