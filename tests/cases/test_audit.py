"""The case log is append-only in the database, and `verify` catches anyone who bypasses that."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pipeline.cases.audit import GENESIS, EventContent, StoredEvent, chain_hash, verify_case
from pipeline.cases.authority import Role
from pipeline.cases.contracts import NoteRequest
from tests.cases.helpers import new_complaint, users


@pytest.fixture
def logged_case(case_service):
    agent = users(case_service)[Role.agent]
    case_id = new_complaint(case_service, agent)
    for note in ("called the customer", "refund approved", "customer thanked us"):
        case_service.add_note(agent, case_id, NoteRequest(note=note))
    return case_id


def bypass_append_only(conn) -> None:
    """What someone with DBA rights could do: switch the log's triggers off for their session."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS case_events_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS case_events_no_delete"))


@pytest.mark.parametrize("statement", ["UPDATE case_events SET note = 'nothing happened' WHERE seq = 2",
                                       "DELETE FROM case_events WHERE seq = 4"])
def test_the_database_refuses_to_rewrite_the_log(case_service, logged_case, statement):
    with pytest.raises(DBAPIError, match="append-only"), case_service.engine.begin() as conn:
        conn.execute(text(statement))
    assert case_service.verify().intact


@pytest.mark.parametrize(
    ("statement", "problem"),
    [("UPDATE case_events SET note = 'nothing happened' WHERE seq = 2", "edited"),
     ("UPDATE case_events SET at = at + interval '1 hour' WHERE seq = 3", "edited"),
     ("DELETE FROM case_events WHERE seq = 2", "missing"),
     ("DELETE FROM case_events WHERE seq = 4", "deleted from the end")],
)
def test_verify_detects_edited_and_deleted_events(case_service, logged_case, statement, problem):
    assert case_service.verify().intact
    with case_service.engine.begin() as conn:
        if conn.dialect.name == "sqlite" and "interval" in statement:
            statement = "UPDATE case_events SET at = datetime(at, '+1 hour') WHERE seq = 3"
        bypass_append_only(conn)
        conn.execute(text(statement))
    report = case_service.verify()
    assert not report.intact
    assert any(problem in p["problem"] for p in report.problems), report.problems
    assert all(p["case_id"] == logged_case for p in report.problems)


def test_chain_of_plain_events_detects_reordering():
    from datetime import UTC, datetime

    def event(seq: int, prev: str) -> StoredEvent:
        content = EventContent(1, seq, datetime(2026, 1, seq, tzinfo=UTC), "ann", "agent", "note", {}, {}, f"n{seq}")
        return StoredEvent(content, prev, chain_hash(prev, content))

    first = event(1, GENESIS)
    second = event(2, first.hash)
    assert verify_case(1, [first, second], second.hash, 2) == []
    problems = verify_case(1, [second, first], second.hash, 2)
    assert problems and any("reordered" in p.problem for p in problems)


def test_an_event_is_hashed_as_the_store_keeps_it(case_service):
    """orjson writes NaN as null: hashing the value before storage would mark the event edited for ever."""
    from datetime import UTC, datetime

    from pipeline.cases.store import as_stored

    assert as_stored({"w": float("nan"), "n": [1, "x"]}) == {"w": None, "n": [1, "x"]}
    agent = users(case_service)[Role.agent]
    case_id = new_complaint(case_service, agent)
    with case_service._sessions.begin() as s:  # an internal writer with a non-finite number in an event body
        from pipeline.cases.tables import CaseRow

        case_service._record(s, s.get(CaseRow, case_id), agent, "note", {}, {"score": float("inf")}, None,
                             datetime.now(UTC))
    assert case_service.verify(case_id).intact
