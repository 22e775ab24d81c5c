"""The case store's tables (SQLAlchemy 2). Domain rules live elsewhere; these only hold state.

The same classes run on SQLite (the embedded default) and PostgreSQL (production); Alembic
migrations in `migrations/` create them, and a test checks the two never drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Json = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(12, 2)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the case store: pass a timezone-aware time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of a 256-bit random token
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_updated_at_id", "updated_at", "id"),)  # the work queue's order

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    profile: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    summary: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(64), index=True)  # the team routing sent it to
    priority: Mapped[int | None] = mapped_column(Integer)  # routing's Priority: 1 urgent … 4 low
    topic: Mapped[str | None] = mapped_column(String(64), index=True)  # the topic model's routing topic
    flag_reasons: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    assigned_role: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str | None] = mapped_column(String(64))
    escalation: Mapped[str | None] = mapped_column(String(32))
    escalation_requested_by_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    findings_outcome: Mapped[str | None] = mapped_column(String(32))
    findings_evidence: Mapped[str | None] = mapped_column(Text)
    findings_severity: Mapped[str | None] = mapped_column(String(32))  # FindingSeverity, the handler's judgement
    chosen_option_id: Mapped[int | None] = mapped_column(Integer)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    root_cause: Mapped[str | None] = mapped_column(String(64), index=True)
    liability_admitted: Mapped[bool] = mapped_column(Boolean, default=False)
    redress_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    milestones: Mapped[dict[str, str]] = mapped_column(Json, default=dict)  # Milestone -> ISO time
    pauses: Mapped[list[list[str | None]]] = mapped_column(Json, default=list)  # [[start, end|null], ...]
    replies: Mapped[list[str]] = mapped_column(Json, default=list, server_default=text("'[]'"))  # outbound ISO times
    alerts: Mapped[list[str]] = mapped_column(Json, default=list)  # "clock:warning" already raised
    next_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    events: Mapped[list[EventRow]] = relationship(order_by="EventRow.seq", lazy="raise_on_sql", viewonly=True)

    __mapper_args__ = {"version_id_col": version}  # optimistic concurrency: UPDATE ... WHERE version = ?


class EventRow(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(48), index=True)
    before: Mapped[dict[str, Any]] = mapped_column(Json)
    after: Mapped[dict[str, Any]] = mapped_column(Json)
    note: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CaseMessageRow(Base):
    """A message that formed the case, with the score and cues the pipeline gave it."""

    __tablename__ = "case_messages"
    __table_args__ = (UniqueConstraint("case_id", "message_id", name="uq_case_messages_case_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the tracker filed it (analytics' clock)
    text: Mapped[str] = mapped_column(Text)
    score: Mapped[dict[str, Any] | None] = mapped_column(Json)


class VulnerabilityRow(Base):
    """A vulnerability disclosure on a case (FG21/1). Special-category personal data: kept out of the
    case view and the event log, shown only to roles with `view_vulnerability`, and deleted when the
    case's retention ends (`EARLYWARN_CASES_VULNERABILITY_RETENTION_DAYS` after it closes)."""

    __tablename__ = "vulnerability_markers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(128))
    driver: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConversationCaseRow(Base):
    """The one case a conversation's flags go to: the key that makes stream intake idempotent and
    race-free (two workers creating a case for the same conversation collide on this primary key)."""

    __tablename__ = "conversation_cases"

    conversation_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)


class CommunicationRow(Base):
    """Contact with the customer, so "kept informed" is visible and measurable (NOS)."""

    __tablename__ = "communications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))


class FeedbackRow(Base):
    """A lesson passed to a colleague so the complaint is not repeated (CU824 2.7, 1.3)."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    to_colleague: Mapped[str] = mapped_column(String(128))
    lesson: Mapped[str] = mapped_column(Text)
    concerns: Mapped[str] = mapped_column(String(16))  # process | training | policy | product | service
    subject: Mapped[str | None] = mapped_column(String(256))


class OptionRow(Base):
    """One way to resolve the complaint, weighed for both sides and for risk (CU824 2.3, 2.4)."""

    __tablename__ = "options"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    customer_benefits: Mapped[str] = mapped_column(Text)
    customer_drawbacks: Mapped[str] = mapped_column(Text)
    organisation_benefits: Mapped[str] = mapped_column(Text)
    organisation_drawbacks: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(8))  # low | medium | high
    risk_notes: Mapped[str] = mapped_column(Text)
    cost: Mapped[Decimal] = mapped_column(Money)
    redress: Mapped[Decimal] = mapped_column(Money)
    admits_liability: Mapped[bool] = mapped_column(Boolean)
    adapts_policy: Mapped[bool] = mapped_column(Boolean)
    policy_justification: Mapped[str | None] = mapped_column(Text)

