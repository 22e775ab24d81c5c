"""The case store read once into pandas frames: what every analytics figure is computed from.

One pass over four tables (cases, their events, their messages, their options) for everything
opened up to the end of the period, so trends, the regulatory return and the dashboard all count
from the same rows. Times are the tracker's own records (when a case was opened, received,
acknowledged, closed), which is what a regulator audits; message texts are loaded only for the
themes and the examples of the root-cause report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pipeline.cases.clocks import Milestone, Pause
from pipeline.cases.tables import CaseMessageRow, CaseRow, EventRow, VulnerabilityRow

#: Milestones kept as columns, `<name>_at`. `vulnerability_noted` starts the FG21/1 care clock, so the
#: compliance table can count it; like `vulnerable`, it is counted, never listed.
MILESTONES: tuple[Milestone, ...] = (Milestone.received, Milestone.acknowledged, Milestone.first_response,
                                     Milestone.summary_resolution, Milestone.holding_response,
                                     Milestone.final_response, Milestone.deadlock_letter, Milestone.closed,
                                     Milestone.vulnerability_noted)

#: The actions that settle a flag without a complaint; a `reopen` (or a reopening flag) undoes them.
SETTLING = ("prevent", "dismiss")

CASE_COLUMNS = ("case_id", "stage", "profile", "channel", "queue", "topic", "priority", "risk_level", "customer_id",
                "root_cause", "findings_outcome", "escalation", "redress_paid", "satisfied", "created_at",
                "prevented_at", "dismissed_at", *(f"{m.value}_at" for m in MILESTONES), "pauses",
                "replies")


@dataclass(frozen=True)
class Period:
    """Whole days, both ends included, in UTC."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start}): swap --from and --to")

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True)
class CaseRecords:
    """Frames over every case opened before the period ended.

    cases: one row per case (CASE_COLUMNS). cues: (case_id, message_id, filed_at, label) per cue of a
    customer message. escalations: (case_id, escalated_at, target, customer_requested). messages:
    (case_id, message_id, filed_at, text, complaint_probability, cue_labels) per customer message;
    text is None unless loaded with texts. filed_at is when the tracker filed the message.
    """

    period: Period
    cases: pd.DataFrame
    cues: pd.DataFrame
    escalations: pd.DataFrame
    messages: pd.DataFrame
    vulnerable: frozenset[int] = frozenset()  # ids of cases with a vulnerability marker: counted, never shown

    def opened(self) -> pd.DataFrame:
        """Cases the tracker opened within the period (flags and direct complaints)."""
        c = self.cases
        return c[(c.created_at >= self.period.start_at) & (c.created_at < self.period.end_at)]

    def received(self) -> pd.DataFrame:
        """Complaints received within the period: their regulatory clocks started in it."""
        c = self.cases
        return c[(c.received_at >= self.period.start_at) & (c.received_at < self.period.end_at)]


def load_records(engine: Engine, period: Period, texts: bool = True) -> CaseRecords:
    """Everything analytics needs about cases opened before `period` ended, in four queries."""
    with Session(engine) as s:
        rows = s.execute(select(
            CaseRow.id, CaseRow.stage, CaseRow.profile, CaseRow.channel, CaseRow.queue, CaseRow.topic,
            CaseRow.priority, CaseRow.risk_level, CaseRow.customer_id, CaseRow.root_cause, CaseRow.findings_outcome,
            CaseRow.escalation, CaseRow.redress_paid, CaseRow.satisfied, CaseRow.created_at, CaseRow.milestones, CaseRow.pauses,
            CaseRow.replies,
        ).where(CaseRow.created_at < period.end_at)).all()
        ids = [r.id for r in rows]
        settled_cases = select(EventRow.case_id).where(EventRow.action.in_(SETTLING))
        events = s.execute(select(EventRow.case_id, EventRow.at, EventRow.action, EventRow.after)
                           .where(EventRow.action.in_((*SETTLING, "escalate", "reopen"))
                                  | ((EventRow.action == "flag") & EventRow.case_id.in_(settled_cases)),
                                  EventRow.at < period.end_at)
                           .order_by(EventRow.case_id, EventRow.seq)).all()
        columns = [CaseMessageRow.case_id, CaseMessageRow.message_id, CaseMessageRow.added_at, CaseMessageRow.score]
        if texts:
            columns.append(CaseMessageRow.text)
        messages = s.execute(select(*columns).where(CaseMessageRow.author == "customer")).all()
        vulnerable = frozenset(s.scalars(select(VulnerabilityRow.case_id).distinct()))
    known = set(ids)
    settled = _still_settled(events)
    cases = _cases_frame(rows, settled["prevent"], settled["dismiss"])
    escalations = pd.DataFrame(
        [(e.case_id, e.at, e.after.get("escalation"), bool(e.after.get("customer_requested")))
         for e in events if e.action == "escalate" and e.case_id in known],
        columns=["case_id", "escalated_at", "target", "customer_requested"])
    created = dict(zip(cases.case_id, cases.created_at, strict=True))
    cue_rows, message_rows = _message_rows((m for m in messages if m.case_id in known), created, texts)
    return CaseRecords(
        period=period, cases=cases,
        cues=_utc(pd.DataFrame(cue_rows, columns=["case_id", "message_id", "filed_at", "label"]), "filed_at"),
        escalations=_utc(escalations, "escalated_at"),
        messages=_utc(pd.DataFrame(message_rows, columns=["case_id", "message_id", "filed_at", "text",
                                                          "complaint_probability", "cue_labels"]), "filed_at"),
        vulnerable=vulnerable & known,
    )


def _still_settled(events: Iterable[Any]) -> dict[str, dict[int, datetime]]:
    """When each case was last prevented or dismissed, unless it was reopened after (by a handler,
    or by a stream flag that sent it back to the queue) before the period ended: a flag that came
    back is neither prevented nor a false alarm."""
    settled: dict[str, dict[int, datetime]] = {action: {} for action in SETTLING}
    for e in events:  # in order, per case
        if e.action in SETTLING:
            settled[e.action][e.case_id] = e.at
        elif e.action == "reopen" or (e.action == "flag" and (e.after or {}).get("reopened")):
            for at in settled.values():
                at.pop(e.case_id, None)
    return settled


def _cases_frame(rows: Iterable[Any], prevented: dict[int, datetime], dismissed: dict[int, datetime]) -> pd.DataFrame:
    records = []
    for r in rows:
        milestones = r.milestones or {}
        records.append((
            r.id, r.stage, r.profile, r.channel, r.queue or "unrouted", r.topic or "unknown", r.priority, r.risk_level,
            r.customer_id, r.root_cause, r.findings_outcome, r.escalation, float(r.redress_paid or 0), r.satisfied,
            r.created_at, prevented.get(r.id),
            dismissed.get(r.id),
            *(_when(milestones.get(m.value)) for m in MILESTONES),
            tuple(Pause(_when(a), _when(b)) for a, b in (r.pauses or ())),
            tuple(_when(at) for at in (r.replies or ())),
        ))
    frame = pd.DataFrame(records, columns=list(CASE_COLUMNS))
    return _utc(frame, "created_at", "prevented_at", "dismissed_at", *(f"{m.value}_at" for m in MILESTONES))


def _message_rows(messages: Iterable[Any], created: dict[int, datetime], texts: bool
                  ) -> tuple[list[tuple], list[tuple]]:
    cues: list[tuple] = []
    out: list[tuple] = []
    for m in messages:
        score = m.score if isinstance(m.score, dict) else json.loads(m.score) if m.score else {}
        labels = sorted({c["label"] for c in score.get("cues", ())})
        at = m.added_at or created[m.case_id]  # rows filed before 0005 date from their case
        cues.extend((m.case_id, m.message_id, at, label) for label in labels)
        out.append((m.case_id, m.message_id, at, m.text if texts else None, score.get("complaint_probability"),
                    tuple(labels)))
    return cues, out


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
