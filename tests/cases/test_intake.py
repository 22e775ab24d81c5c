"""Stream intake: flags become cases idempotently, one case per conversation, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pipeline.cases.appends import append
from pipeline.cases.authority import Role
from pipeline.cases.contracts import TransitionRequest
from pipeline.cases.lifecycle import Stage
from pipeline.cases.service import CaseService, _save_cases
from pipeline.cases.store import session_factory
from pipeline.cases.tables import CaseRow, ConversationCaseRow
from pipeline.errors import VersionConflictError
from pipeline.schema import Channel, Flag, FlagReason, Message, MessageScore, Priority, RiskLevel, Severity
from tests.cases.helpers import users

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def flag(*ids: str, level: RiskLevel = RiskLevel.elevated, conversation: str = "thread-1", queue: str = "social-care",
         priority: Priority = Priority.normal) -> Flag:
    messages = [Message(id=i, text=f"message {i}: still waiting for my refund", channel=Channel.social,
                        conversation_id=conversation, customer_id="c-1", timestamp=T0 + timedelta(minutes=n))
                for n, i in enumerate(ids)]
    scores = [MessageScore(id=i, complaint_probability=0.4, is_complaint=level is RiskLevel.complaint, threshold=0.5,
                           severity=Severity.disapproval, severity_probabilities={}, dissatisfaction=0.6,
                           model_version="fast-test") for i in ids]
    return Flag(conversation_id=conversation, customer_id="c-1", channel=Channel.social, risk_level=level,
                probability=0.4, messages=messages, scores=scores, queue=queue, priority=priority,
                reasons=[FlagReason(signal="level", detail="dissatisfaction running at 0.60", message_id=ids[-1])])


def test_a_redelivered_flag_changes_nothing(case_service):
    first = case_service.intake(flag("m1"))
    again = case_service.intake(flag("m1"))
    assert first.created and first.added == ["m1"] and first.stage is Stage.flagged
    assert again.case_id == first.case_id and not again.created and again.added == []
    assert [e.action for e in case_service.events(first.case_id)] == ["create"]


def test_new_messages_join_the_conversations_case_once(case_service):
    case_id = case_service.intake(flag("m1")).case_id
    later = case_service.intake(flag("m1", "m2", level=RiskLevel.high))
    assert later.case_id == case_id and later.added == ["m2"]
    case = case_service.get_case(case_id)
    assert [m.message_id for m in case.messages] == ["m1", "m2"] and case.risk_level == "high"
    events = case_service.events(case_id)
    assert [e.action for e in events] == ["create", "flag"] and events[1].after["messages"] == ["m2"]
    assert case_service.intake(flag("m3", level=RiskLevel.elevated)).case_id == case_id
    assert case_service.get_case(case_id).risk_level == "high", "a calmer flag does not lower the level"
    assert case_service.verify(case_id).intact


def test_a_complaint_starts_the_regulatory_clock(case_service):
    case_id = case_service.intake(flag("m1")).case_id
    result = case_service.intake(flag("m2", level=RiskLevel.complaint))
    assert result.stage is Stage.received
    case = case_service.get_case(case_id)
    assert case.stage is Stage.received and "received" in case.milestones
    direct = case_service.intake(flag("x1", level=RiskLevel.complaint, conversation="thread-2"))
    assert direct.created and direct.stage is Stage.received


def test_the_clocks_start_when_the_complaint_was_sent_not_when_the_stream_got_to_it(case_service, clock):
    """A backlog (or a dead-letter replay) three days long must not give the organisation three extra days."""
    clock.advance(days=3)
    case_id = case_service.intake(flag("m1")).case_id
    case_service.intake(flag("m1", "m2", level=RiskLevel.complaint))
    assert case_service.get_case(case_id).milestones["received"] == T0 + timedelta(minutes=1)  # m2, the newest
    direct = case_service.intake(flag("x1", level=RiskLevel.complaint, conversation="thread-2"))
    assert case_service.get_case(direct.case_id).milestones["received"] == T0
    assert case_service.events(direct.case_id)[0].after["received_at"] == T0.isoformat()
    case_service.backdate_limit = timedelta(days=1)  # now three-day-old messages are history being replayed
    replayed = case_service.intake(flag("h1", level=RiskLevel.complaint, conversation="thread-3"))
    assert case_service.get_case(replayed.case_id).milestones["received"] == clock.now


def test_a_settled_case_is_reopened_by_new_dissatisfaction(case_service):
    agent = users(case_service)[Role.agent]
    case_id = case_service.intake(flag("m1")).case_id
    case_service.transition(agent, case_id, TransitionRequest(action="prevent", note="apologised, refund sent"))
    result = case_service.intake(flag("m2"))
    assert result.case_id == case_id and result.stage is Stage.flagged
    assert case_service.events(case_id)[-1].after["reopened"] is True


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_racing_workers_open_one_case_per_conversation(database_url, settings):
    service = CaseService.from_settings(settings, url=database_url)
    try:
        def deliver(n: int):
            return service.intake(flag("m1", "m2", conversation=f"race-{n % 3}"))

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(deliver, range(36)))
        for conversation in range(3):
            cases = {r.case_id for n, r in enumerate(results) if n % 3 == conversation}
            assert len(cases) == 1
            (case_id,) = cases
            assert [e.action for e in service.events(case_id)] == ["create"]
            assert sum(r.created for n, r in enumerate(results) if n % 3 == conversation) == 1
    finally:
        service.engine.dispose()


def test_the_case_takes_the_most_urgent_routing_it_was_given(case_service):
    case_id = case_service.intake(flag("m1")).case_id
    assert (case_service.get_case(case_id).queue, case_service.get_case(case_id).priority) == ("social-care", 3)
    case_service.intake(flag("m2", queue="senior", priority=Priority.urgent))
    case_service.intake(flag("m3", queue="complaints", priority=Priority.low))  # calmer: does not move it back
    case = case_service.get_case(case_id)
    assert (case.queue, case.priority) == ("senior", 1)
    assert case_service.events(case_id)[1].after["queue"] == "senior"
    case_service.intake(flag("x1", conversation="other", queue="retention"))
    assert [c.id for c in case_service.list_cases(queue="senior")] == [case_id]
    assert case_service.queues() == ["retention", "senior"]


def test_a_batch_files_each_flag_as_single_intakes_would(case_service):
    agent = users(case_service)[Role.agent]
    settled = case_service.intake(flag("s1", conversation="settled")).case_id
    case_service.transition(agent, settled, TransitionRequest(action="prevent", note="refund sent"))
    existing = case_service.intake(flag("e1", conversation="existing")).case_id
    batch = [flag("n1", "n2", conversation="new"), flag("e1", "e2", level=RiskLevel.complaint, conversation="existing"),
             flag("s2", conversation="settled"), flag("e1", conversation="unchanged-redelivery")]
    results = case_service.intake_many(batch)
    assert [(r.created, r.added) for r in results] == [(True, ["n1", "n2"]), (False, ["e2"]), (False, ["s2"]),
                                                       (True, ["e1"])]
    assert results[1].case_id == existing and results[1].stage is Stage.received
    assert results[2].case_id == settled and results[2].stage is Stage.flagged
    assert [m.message_id for m in case_service.get_case(existing).messages] == ["e1", "e2"]
    assert [e.action for e in case_service.events(existing)] == ["create", "flag"]
    assert "received" in case_service.get_case(existing).milestones
    assert case_service.events(settled)[-1].after["reopened"] is True
    assert all(case_service.verify(r.case_id).intact for r in results)
    again = case_service.intake_many(batch)  # redelivered: nothing new anywhere
    assert [r.added for r in again] == [[], [], [], []]
    assert [e.action for e in case_service.events(existing)] == ["create", "flag"]


def test_a_handler_working_from_before_a_batch_gets_a_version_conflict(case_service):
    agent = users(case_service)[Role.agent]
    case_id = case_service.intake(flag("m1")).case_id
    seen = case_service.get_case(case_id).version
    case_service.intake_many([flag("m1", "m2"), flag("x1", conversation="other")])
    assert case_service.get_case(case_id).version == seen + 1
    with pytest.raises(VersionConflictError):
        case_service.transition(agent, case_id, TransitionRequest(action="receive", version=seen))


def test_a_case_changed_after_the_batch_read_it_fails_the_batch_write(case_service):
    """The batch's UPDATE is guarded by the version each case was read at: a handler's change in
    between is never overwritten (the batch is then retried flag by flag)."""
    agent = users(case_service)[Role.agent]
    case_id = case_service.intake(flag("m1")).case_id
    with Session(case_service.engine) as s:  # closed without a commit: the failed batch rolls back
        case = s.get(CaseRow, case_id)
        case_service.transition(agent, case_id, TransitionRequest(action="receive"))  # meanwhile, elsewhere
        case.risk_level = RiskLevel.high.value
        with pytest.raises(StaleDataError):
            _save_cases(s, [case])
    assert case_service.get_case(case_id).stage is Stage.received


def test_rows_appended_without_an_explicit_write_are_written_at_commit(case_service):
    case_id = case_service.intake(flag("m1")).case_id
    with session_factory(case_service.engine).begin() as s:
        append(s, ConversationCaseRow, conversation_key="social:late-link", case_id=case_id)
    with Session(case_service.engine) as s:
        assert s.get(ConversationCaseRow, "social:late-link").case_id == case_id
