"""The append-only, hash-chained case log (CU824 2.8: clear records that avoid misunderstandings).

Each event's hash covers its content and the previous event's hash, and the case row keeps the
hash and count of its last event, so editing, deleting or reordering any event, the last one
included, breaks the chain that `verify` recomputes. The database also refuses UPDATE and DELETE
on the log (triggers in the migration); the chain catches what someone with DDL rights does anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class EventContent:
    """What an event says; the hash is computed over exactly these fields."""

    case_id: int
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None

    def canonical(self) -> bytes:
        body = {
            "case_id": self.case_id,
            "seq": self.seq,
            "at": _utc_iso(self.at),
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "note": self.note,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def _utc_iso(at: datetime) -> str:
    """Databases differ in how they hand back timestamps; the hash must not."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def chain_hash(previous: str, content: EventContent) -> str:
    return hashlib.sha256(previous.encode() + content.canonical()).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    content: EventContent
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    case_id: int
    seq: int | None
    problem: str


def verify_case(case_id: int, events: Iterable[StoredEvent], head_hash: str, event_count: int) -> list[ChainProblem]:
    """Every way this case's log differs from what was written, or [] when it is intact."""
    problems: list[ChainProblem] = []
    previous, expected_seq = GENESIS, 1
    for event in events:
        seq = event.content.seq
        if seq != expected_seq:
            problems.append(ChainProblem(case_id, expected_seq, f"event {expected_seq} is missing (next is {seq})"))
        if event.prev_hash != previous:
            problems.append(ChainProblem(case_id, seq, "does not follow the event before it (deleted or reordered)"))
        if chain_hash(event.prev_hash, event.content) != event.hash:
            problems.append(ChainProblem(case_id, seq, "content differs from what was recorded (edited)"))
        previous, expected_seq = event.hash, seq + 1
    if expected_seq - 1 != event_count or previous != head_hash:
        problems.append(
            ChainProblem(case_id, None, f"log ends at event {expected_seq - 1} but the case recorded {event_count} "
                                        f"(events deleted from the end)")
        )
    return problems
