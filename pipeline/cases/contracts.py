"""What goes into and comes out of the case tracker: one set of types for the API, CLI and workspace.

Every text field has a size limit and every amount a range, so oversized or malformed input is
refused at the boundary with the field's name, before anything is written. So is anything only one
of the case stores could keep (a NUL or a lone surrogate: PostgreSQL refuses them, SQLite does not)
and any number JSON cannot carry (NaN, infinity): both stores take exactly the same input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.cases.authority import Role
from pipeline.cases.clocks import Deadline
from pipeline.cases.lifecycle import Action, EscalationTarget, FindingOutcome, FindingSeverity, Stage
from pipeline.schema import Channel, Flag, Message, MessageScore, Priority

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), max_digits=12, decimal_places=2)]


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def unstorable(value: Any, path: str = "") -> str | None:
    """Why `value` (a request body, walked as sent) cannot be stored, naming where; None when it can."""
    where = path or "the request"
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            return f"{where} holds a NUL character or a lone surrogate: send printable UTF-8 text without them"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"{where} is {value}: send a finite number (JSON has no NaN or infinity)"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if problem := unstorable(key, inner) or unstorable(item, inner):
                return problem
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            if problem := unstorable(item, f"{path}[{n}]"):
                return problem
    return None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if problem := unstorable(data):
            raise ValueError(problem)
        return data


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("has no timezone: send ISO 8601 with an offset, e.g. 2026-01-31T09:30:00+00:00")
    return value


class Actor(BaseModel):
    """Who is acting; the API derives it from the token, the CLI from --user."""

    model_config = ConfigDict(frozen=True)

    username: str
    role: Role | str  # str only for the tracker's own "system" actor (deadline sweeps)


class CaseMessage(Strict):
    message: Message
    score: MessageScore | None = None


class CaseCreate(Strict):
    summary: Annotated[str, Field(min_length=1, max_length=2_000)]
    channel: Channel
    profile: str | None = Field(default=None, description="regulatory profile; the configured default if empty")
    stage: Stage = Field(default=Stage.flagged, description="flagged (early warning) or received (a complaint)")
    customer_id: Annotated[str, Field(max_length=128)] | None = None
    conversation_id: Annotated[str, Field(max_length=128)] | None = None
    received_at: datetime | None = Field(default=None, description="when the complaint arrived; now if empty")
    risk_level: Annotated[str, Field(max_length=16)] | None = None
    queue: Annotated[str, Field(max_length=64)] | None = Field(default=None, description="the team's queue routing chose")
    priority: Priority | None = None
    topic: Annotated[str, Field(max_length=64)] | None = Field(default=None, description="what it is about")
    reasons: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    messages: list[CaseMessage] = Field(default_factory=list, max_length=500)

    @field_validator("received_at")
    @classmethod
    def _received_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @field_validator("stage")
    @classmethod
    def _starting_stage(cls, value: Stage) -> Stage:
        if value not in (Stage.flagged, Stage.received):
            raise ValueError("a case starts 'flagged' (an early warning) or 'received' (a complaint)")
        return value

    @classmethod
    def from_flag(cls, flag: Flag, summary: str, profile: str | None = None) -> CaseCreate:
        scores = {s.id: s for s in flag.scores}
        return cls(
            summary=summary,
            channel=flag.channel,
            profile=profile,
            customer_id=flag.customer_id,
            conversation_id=flag.conversation_id,
            risk_level=flag.risk_level.value,
            queue=flag.queue,
            priority=flag.priority,
            topic=flag.topic,
            reasons=[r.model_dump(mode="json") for r in flag.reasons],
            messages=[CaseMessage(message=m, score=scores.get(m.id)) for m in flag.messages],
        )


class Intake(BaseModel):
    """What filing a flag did: which case, whether it opened, and which messages were new to it."""

    case_id: int
    created: bool
    added: list[str]
    stage: Stage


class TransitionRequest(Strict):
    """One move through the lifecycle; which fields are required depends on the action."""

    action: Action
    version: int | None = Field(default=None, description="the version you read; a stale one gets 409")
    note: Text | None = None
    reason: Text | None = None
    outcome: FindingOutcome | None = None
    evidence: Text | None = None
    severity: FindingSeverity | None = Field(
        default=None, description="record_findings: how serious the complaint was, as the handler judged it")
    option_id: int | None = None
    satisfied: bool | None = None
    root_cause: ShortText | None = None
    received_at: datetime | None = Field(
        default=None, description="receive: when the complaint arrived, if earlier than now (its clocks start then)")

    @field_validator("received_at")
    @classmethod
    def _received_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class EscalationRequest(Strict):
    target: EscalationTarget
    reason: Text
    customer_requested: bool = False
    version: int | None = None


class NoteRequest(Strict):
    note: Text
    version: int | None = None


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class CommunicationKind(StrEnum):
    message = "message"
    update = "update"  # keeping the customer informed (NOS)
    request_information = "request_information"
    acknowledgement = "acknowledgement"
    summary_resolution = "summary_resolution"
    holding_response = "holding_response"
    final_response = "final_response"
    deadlock_letter = "deadlock_letter"
    public_reply = "public_reply"  # a reply under a public post: no case details, offers a private channel


class CommunicationRequest(Strict):
    channel: Channel
    direction: Direction
    kind: CommunicationKind = CommunicationKind.update
    content: Annotated[str, Field(min_length=1, max_length=20_000)]
    version: int | None = None


class FeedbackConcern(StrEnum):
    process = "process"
    training = "training"
    policy = "policy"
    product = "product"
    service = "service"


class FeedbackRequest(Strict):
    to_colleague: ShortText
    lesson: Text
    concerns: FeedbackConcern
    subject: ShortText | None = Field(default=None, description="the process, course or policy it concerns")
    version: int | None = None


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class OptionRequest(Strict):
    description: Text
    customer_benefits: Text
    customer_drawbacks: Text
    organisation_benefits: Text
    organisation_drawbacks: Text
    risk: Risk
    risk_notes: Text
    cost: Amount = Decimal("0")
    redress: Amount = Decimal("0")
    admits_liability: bool = False
    adapts_policy: bool = False
    policy_justification: Text | None = None
    version: int | None = None


class PauseRequest(Strict):
    paused: bool = Field(description="true pauses the clocks that may pause; false resumes them")
    reason: Text
    version: int | None = None


class UserCreate(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    role: Role


# --- views -----------------------------------------------------------------------------------------


class EventView(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None
    hash: str


class OptionView(BaseModel):
    id: int
    description: str
    customer_benefits: str
    customer_drawbacks: str
    organisation_benefits: str
    organisation_drawbacks: str
    risk: str
    risk_notes: str
    cost: Decimal
    redress: Decimal
    admits_liability: bool
    adapts_policy: bool
    policy_justification: str | None


class CommunicationView(BaseModel):
    id: int
    at: datetime
    channel: str
    direction: str
    kind: str
    content: str
    actor: str


class VulnerabilityMarker(BaseModel):
    """A disclosure of vulnerability on a case (FG21/1): the driver and the words that showed it."""

    message_id: str
    driver: str
    evidence: str
    start: int
    end: int
    weight: float
    explanation: str
    at: datetime


class FeedbackView(BaseModel):
    id: int
    at: datetime
    actor: str
    to_colleague: str
    lesson: str
    concerns: str
    subject: str | None


class MessageView(BaseModel):
    message_id: str
    channel: str
    author: str
    sent_at: datetime | None
    text: str
    score: dict[str, Any] | None


class CaseSummary(BaseModel):
    id: int
    version: int
    stage: Stage
    profile: str
    channel: str
    customer_id: str | None
    summary: str
    risk_level: str | None
    queue: str | None = None
    priority: int | None = None
    topic: str | None = None
    assigned_role: str
    escalation: str | None
    next_deadline: Deadline | None
    created_at: datetime
    updated_at: datetime


class CaseView(CaseSummary):
    conversation_id: str | None
    owner: str | None
    flag_reasons: list[dict[str, Any]]
    escalation_requested_by_customer: bool
    findings_outcome: str | None
    findings_evidence: str | None
    findings_severity: str | None
    chosen_option_id: int | None
    satisfied: bool | None
    root_cause: str | None
    liability_admitted: bool
    redress_paid: Decimal
    milestones: dict[str, datetime]
    clocks_paused: bool
    deadlines: list[Deadline]
    allowed_actions: list[Action]
    last_contact_at: datetime | None
    messages: list[MessageView]
    options: list[OptionView]
    communications: list[CommunicationView]
    feedback: list[FeedbackView]


class ChainReport(BaseModel):
    cases_checked: int
    events_checked: int
    intact: bool
    problems: list[dict[str, Any]]


class Alert(BaseModel):
    case_id: int
    clock: str
    kind: str  # deadline_warning | deadline_breached
    due_at: datetime
