"""The contracts every stage speaks.

Each stage takes and returns these types, so a stage can be replaced (a deeper scorer, another
transport) without the stages around it noticing. Stages lower in the flow never import higher
ones; this module imports no stage at all.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum, IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Channel(str, Enum):
    query = "query"
    chat = "chat"
    social = "social"
    email = "email"


class Author(str, Enum):
    customer = "customer"
    agent = "agent"


class Severity(IntEnum):
    """Complaint severity as annotated in X-CI (Jin & Aletras 2021; Singh et al. 2023)."""

    none = 0
    no_explicit_reproach = 1
    disapproval = 2
    accusation = 3
    blame = 4

    @property
    def label(self) -> str:
        return self.name


class CueLabel(str, Enum):
    """What a cue says about the customer; each is one signal a handler can act on."""

    escalation_demand = "escalation_demand"
    churn_threat = "churn_threat"
    regulator_mention = "regulator_mention"
    public_amplification = "public_amplification"
    repeated_contact = "repeated_contact"
    waiting_time = "waiting_time"
    broken_promise = "broken_promise"
    negative_emotion = "negative_emotion"
    intensity = "intensity"
    profanity = "profanity"
    sarcasm = "sarcasm"


class Cue(BaseModel):
    """One piece of evidence in a message, with where it sits so a UI can highlight it."""

    model_config = ConfigDict(frozen=True)

    label: CueLabel
    start: int = Field(ge=0, description="character offset of the first character")
    end: int = Field(ge=0, description="character offset one past the last character")
    text: str
    weight: float = Field(ge=0.0, le=1.0, description="how strongly the cue signals dissatisfaction")
    explanation: str


class Entity(BaseModel):
    """A case detail found in a message: an order reference, an amount, a date, a product."""

    model_config = ConfigDict(frozen=True)

    label: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class Message(BaseModel):
    """One incoming query, chat message or social post.

    `id` is the idempotency key. Unknown fields given to `from_record` are kept in `metadata`
    so nothing a source sent is lost.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    channel: Channel = Channel.social
    conversation_id: str | None = None
    customer_id: str | None = None
    author: Author = Author.customer
    timestamp: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank: send the message body in the text field")
        return value

    @field_validator("timestamp")
    @classmethod
    def _timestamp_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamp has no timezone: send ISO 8601 with an offset, e.g. 2026-01-31T09:30:00+00:00")
        return value

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Message:
        known = set(cls.model_fields)
        extra = {k: v for k, v in record.items() if k not in known}
        fields = {k: v for k, v in record.items() if k in known}
        if extra:
            fields["metadata"] = {**extra, **(fields.get("metadata") or {})}
        return cls.model_validate(fields)


class MessageScore(BaseModel):
    """What a scorer concluded about one message, and why."""

    id: str
    complaint_probability: float = Field(ge=0.0, le=1.0, description="calibrated P(complaint)")
    is_complaint: bool
    threshold: float = Field(ge=0.0, le=1.0)
    severity: Severity
    severity_probabilities: dict[str, float]
    dissatisfaction: float = Field(ge=0.0, le=1.0)
    cues: list[Cue] = Field(default_factory=list)
    model_version: str

    def to_output(self) -> dict[str, Any]:
        """The JSON record `earlywarn score` writes: severity by name, cues as plain dicts."""
        out = self.model_dump(mode="json")
        out["severity"] = self.severity.name
        return out


class RiskLevel(str, Enum):
    """How close a conversation is to a complaint; ordered, so levels compare with `rank`."""

    low = "low"
    elevated = "elevated"
    high = "high"
    complaint = "complaint"

    @property
    def rank(self) -> int:
        return _RISK_ORDER.index(self)


_RISK_ORDER = list(RiskLevel)


class FlagReason(BaseModel):
    """One signal that moved a conversation to be flagged, and the message that carried it."""

    signal: str = Field(min_length=1, max_length=64)
    detail: str = Field(max_length=500)
    message_id: str | None = None
    weight: float | None = Field(default=None, ge=0.0)


class VulnerabilityDriver(StrEnum):
    """The four drivers of vulnerability in FCA FG21/1."""

    health = "health"
    life_events = "life_events"
    resilience = "resilience"
    capability = "capability"


class VulnerabilityCue(BaseModel):
    """One disclosure in a message: which driver, where (character offsets), how strong, and why."""

    model_config = ConfigDict(frozen=True)

    driver: VulnerabilityDriver
    start: int = Field(ge=0, description="character offset of the first character")
    end: int = Field(ge=0, description="character offset one past the last character")
    text: str
    weight: float = Field(ge=0.0, le=1.0, description="how strongly these words alone point at the driver")
    explanation: str


class VulnerabilityFinding(VulnerabilityCue):
    """A disclosure of vulnerability in a customer message, as a flag carries it. Special-category
    personal data: the case store keeps it apart from the case, shows it only to the roles allowed,
    and never logs it."""

    message_id: str
    text: str = Field(max_length=500)
    explanation: str = Field(max_length=500)


class ConversationRisk(BaseModel):
    """The early-warning reading of one conversation after its latest message."""

    conversation_id: str
    level: RiskLevel
    probability: float = Field(ge=0.0, le=1.0, description="P(the conversation ends in dissatisfaction or a complaint)")
    reasons: list[FlagReason] = Field(default_factory=list)
    model_version: str


class Priority(IntEnum):
    """How soon a queue should pick a flag up; lower is sooner."""

    urgent = 1
    high = 2
    normal = 3
    low = 4


class Flag(BaseModel):
    """The routing decision: this conversation needs a handler, and why (carried onto the case)."""

    conversation_id: str | None = None
    customer_id: str | None = None
    channel: Channel
    risk_level: RiskLevel
    probability: float = Field(ge=0.0, le=1.0)
    queue: str = Field(default="complaints", min_length=1, max_length=64)
    priority: Priority = Priority.normal
    next_action: str = Field(default="", max_length=1000, description="suggested next step for the handler")
    rule: str | None = Field(default=None, description="the routing rule that matched")
    topic: str | None = Field(default=None, max_length=64, description="what the conversation is about, if known")
    vulnerability: list[VulnerabilityFinding] = Field(default_factory=list, max_length=100)
    reasons: list[FlagReason] = Field(default_factory=list)
    messages: list[Message] = Field(min_length=1)
    scores: list[MessageScore] = Field(default_factory=list)


#: Flag fields that never leave the tracker: published flags (Redis, webhooks) are dumped without them.
PRIVATE_FIELDS = frozenset({"vulnerability"})
