"""The case service end to end, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from pipeline.cases.authority import Role
from pipeline.cases.clocks import ClockStatus
from pipeline.cases.contracts import (
    CaseCreate,
    CommunicationRequest,
    EscalationRequest,
    FeedbackRequest,
    NoteRequest,
    PauseRequest,
    TransitionRequest,
)
from pipeline.cases.lifecycle import Action, Stage
from pipeline.errors import (
    AuthorityError,
    CaseInputError,
    CaseNotFoundError,
    IllegalTransitionError,
    VersionConflictError,
)
from pipeline.schema import Channel, Flag, FlagReason, Message, MessageScore, Severity
from tests.cases.helpers import TO_FINDINGS, new_complaint, option, users, walk


@pytest.fixture
def people(case_service):
    return users(case_service)


def test_a_complaint_runs_the_whole_lifecycle_and_every_step_is_on_record(case_service, people):
    agent, leader = people[Role.agent], people[Role.team_leader]
    case_id = new_complaint(case_service, agent)
    walk(case_service, agent, case_id, *TO_FINDINGS,
         ("record_findings", {"outcome": "justified", "evidence": "call log shows two promises"}))
    case_service.add_option(agent, case_id, option("35.00", admits_liability=True))
    case_service.add_option(agent, case_id, option("120.00", description="refund plus goodwill payment"))
    case = case_service.transition(agent, case_id, TransitionRequest(action="assess_options"))
    small, large = case.options
    walk(case_service, agent, case_id, ("offer_solution", {"option_id": small.id}),
         ("reject", {"note": "customer wants compensation for the calls"}), ("negotiate", {}))
    walk(case_service, leader, case_id, ("agree", {"option_id": large.id}))
    walk(case_service, agent, case_id, ("implement", {"note": "paid by bank transfer"}),
         ("check_satisfaction", {"satisfied": True}), ("close", {"root_cause": "billing_error"}))

    case = case_service.get_case(case_id)
    assert case.stage is Stage.closed and case.root_cause == "billing_error"
    assert case.redress_paid == Decimal("120.00") and case.liability_admitted is False
    assert case.allowed_actions == [Action.reopen]
    actions = [e.action for e in case_service.events(case_id)]
    assert actions[:2] == ["create", "acknowledge"] and actions[-1] == "close" and actions.count("option") == 2
    assert case_service.verify().intact


def test_an_early_warning_is_prevented_and_only_a_team_leader_reopens_it(case_service, people):
    agent = people[Role.agent]
    case_id = case_service.create_case(agent, CaseCreate(summary="third chat about a missing parcel",
                                                         channel=Channel.chat)).id
    case = case_service.transition(agent, case_id, TransitionRequest(action="prevent", note="rebooked delivery"))
    assert case.stage is Stage.prevented and case.deadlines[0].status is ClockStatus.not_started
    with pytest.raises(AuthorityError, match="team leader"):
        case_service.transition(agent, case_id, TransitionRequest(action="reopen", reason="parcel lost again"))
    case = case_service.transition(people[Role.team_leader], case_id,
                                   TransitionRequest(action="reopen", reason="parcel lost again"))
    assert case.stage is Stage.flagged


def test_a_refused_action_writes_nothing(case_service, people):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)
    before = case_service.get_case(case_id)
    with pytest.raises(CaseInputError, match="'note'"):
        walk(case_service, agent, case_id, ("acknowledge", {}), ("confirm_details", {}))
    with pytest.raises(IllegalTransitionError, match="details_confirmed|confirm_details"):
        case_service.transition(agent, case_id, TransitionRequest(action="investigate"))
    after = case_service.get_case(case_id)
    assert after.version == before.version + 1  # only the acknowledgement landed
    assert [e.action for e in case_service.events(case_id)] == ["create", "acknowledge"]


def test_closing_on_the_findings_is_for_unjustified_complaints_and_senior_enough_roles(case_service, people):
    agent, leader = people[Role.agent], people[Role.team_leader]
    unjustified = new_complaint(case_service, agent)
    justified = new_complaint(case_service, agent)
    for case_id, outcome in ((unjustified, "unjustified"), (justified, "justified")):
        walk(case_service, agent, case_id, *TO_FINDINGS,
             ("record_findings", {"outcome": outcome, "evidence": "payment records"}))
    close = TransitionRequest(action="close", root_cause="customer_misunderstanding", note="explained the fee")
    with pytest.raises(AuthorityError, match="team leader"):
        case_service.transition(agent, unjustified, close)
    assert case_service.transition(leader, unjustified, close).stage is Stage.closed
    with pytest.raises(CaseInputError, match="justified complaint is not closed"):
        case_service.transition(leader, justified, close)
    with pytest.raises(CaseInputError, match="root_cause.*choose one of"):
        case_service.transition(leader, justified, close.model_copy(update={"root_cause": "gremlins"}))


def test_adapting_policy_needs_a_written_justification_and_the_authority(case_service, people):
    agent, leader, specialist = people[Role.agent], people[Role.team_leader], people[Role.complaints_specialist]
    case_id = new_complaint(case_service, agent)
    walk(case_service, agent, case_id, *TO_FINDINGS,
         ("record_findings", {"outcome": "partly_justified", "evidence": "late by policy, not by promise"}))
    with pytest.raises(CaseInputError, match="policy_justification"):
        case_service.add_option(agent, case_id, option(adapts_policy=True))
    case = case_service.add_option(agent, case_id, option(
        adapts_policy=True, policy_justification="the customer was in hospital when the window closed"))
    walk(case_service, agent, case_id, ("assess_options", {}))
    offer = TransitionRequest(action="offer_solution", option_id=case.options[0].id)
    with pytest.raises(AuthorityError, match="complaints specialist"):
        case_service.transition(leader, case_id, offer)
    assert case_service.transition(specialist, case_id, offer).stage is Stage.solution_offered
    event = [e for e in case_service.events(case_id) if e.action == "option"][0]
    assert "hospital" in event.after["policy_justification"]


def test_escalation_moves_the_case_up_and_keeps_juniors_off_it(case_service, people):
    agent, specialist = people[Role.agent], people[Role.complaints_specialist]
    case_id = new_complaint(case_service, agent)
    case = case_service.escalate(agent, case_id, EscalationRequest(
        target="team_leader", reason="customer asked for a manager", customer_requested=True))
    assert case.assigned_role == "team_leader" and case.escalation_requested_by_customer
    with pytest.raises(AuthorityError, match="escalated to team_leader"):
        case_service.add_note(agent, case_id, NoteRequest(note="called back"))
    with pytest.raises(CaseInputError, match="already escalated"):
        case_service.escalate(specialist, case_id, EscalationRequest(target="team_leader", reason="again"))
    with pytest.raises(AuthorityError, match="complaints specialist"):
        case_service.escalate(people[Role.team_leader], case_id,
                              EscalationRequest(target="ombudsman", reason="deadlock"))
    case = case_service.escalate(specialist, case_id, EscalationRequest(target="ombudsman", reason="deadlock"))
    assert case.escalation == "ombudsman"
    event = case_service.events(case_id)[1]
    assert event.action == "escalate" and event.after["customer_requested"] and "manager" in event.note


def test_read_only_roles_change_nothing(case_service, people):
    case_id = new_complaint(case_service, people[Role.agent])
    for role in (Role.analyst, Role.admin):
        with pytest.raises(AuthorityError, match="may not change a case"):
            case_service.add_note(people[role], case_id, NoteRequest(note="looked at it"))
        with pytest.raises(AuthorityError):
            case_service.create_case(people[role], CaseCreate(summary="x", channel=Channel.chat))


def test_communications_keep_the_customer_informed_and_stop_the_clocks(case_service, people, clock):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)
    clock.advance(days=3)
    case_service.add_communication(agent, case_id, CommunicationRequest(
        channel="email", direction="inbound", kind="message", content="any news?"))
    case = case_service.add_communication(agent, case_id, CommunicationRequest(
        channel="email", direction="outbound", kind="final_response", content="we will refund the fee"))
    assert case.last_contact_at == clock.now
    deadlines = {d.clock: d for d in case.deadlines}
    assert deadlines["final_response"].status is ClockStatus.met
    assert deadlines["ombudsman_referral"].status is ClockStatus.open
    assert [c.direction for c in case.communications] == ["inbound", "outbound"]


def test_feedback_to_colleagues_is_recorded(case_service, people):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)
    case = case_service.add_feedback(agent, case_id, FeedbackRequest(
        to_colleague="billing team", lesson="confirm refunds in writing", concerns="process", subject="refunds"))
    assert case.feedback[0].concerns == "process" and case.feedback[0].actor == "agent"


def test_deadline_sweeps_warn_once_then_breach_once(case_service, people, clock):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)  # received Tue 24 Nov 2026, 10:00 UTC
    assert case_service.sweep() == []
    clock.now = datetime(2026, 11, 30, 1, tzinfo=UTC)  # acknowledgement is due at the end of Tue 1 Dec
    assert case_service.sweep() == []
    clock.now = datetime(2026, 12, 1, 1, tzinfo=UTC)
    alerts = case_service.sweep()
    assert [(a.clock, a.kind) for a in alerts] == [("acknowledgement", "deadline_warning")]
    assert case_service.sweep() == []
    clock.now = datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC)
    assert [(a.clock, a.kind) for a in case_service.sweep()] == [("acknowledgement", "deadline_breached")]
    assert case_service.sweep() == []
    walk(case_service, agent, case_id, ("acknowledge", {}))
    clock.now = datetime(2027, 1, 20, 0, 0, 1, tzinfo=UTC)  # final response never sent: warning skipped, breach
    assert [(a.clock, a.kind) for a in case_service.sweep()] == [("final_response", "deadline_breached")]
    actions = [e.action for e in case_service.events(case_id)]
    assert actions.count("deadline_breached") == 2 and actions.count("deadline_warning") == 1


def test_clocks_pause_only_where_the_profile_allows(case_service, people, clock):
    agent = people[Role.agent]
    fca = new_complaint(case_service, agent)
    with pytest.raises(CaseInputError, match="lets no clock pause"):
        case_service.set_paused(agent, fca, PauseRequest(paused=True, reason="waiting for statements"))
    sla = new_complaint(case_service, agent, profile="internal_sla")
    due = {d.clock: d.due_at for d in case_service.get_case(sla).deadlines}["resolution"]
    case_service.set_paused(agent, sla, PauseRequest(paused=True, reason="waiting for statements"))
    clock.advance(days=2)
    case = case_service.set_paused(agent, sla, PauseRequest(paused=False, reason="statements arrived"))
    assert {d.clock: d.due_at for d in case.deadlines}["resolution"] - due == timedelta(days=2)


def test_a_stale_version_is_refused(case_service, people):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)
    version = case_service.get_case(case_id).version
    case_service.add_note(agent, case_id, NoteRequest(note="first", version=version))
    with pytest.raises(VersionConflictError, match=f"version {version}"):
        case_service.add_note(agent, case_id, NoteRequest(note="second", version=version))


def test_a_case_from_a_flag_keeps_its_messages_scores_and_reasons(case_service, people):
    message = Message(id="tw-1", text="Third time asking. Where is my refund?? @bank", channel=Channel.social,
                      customer_id="c-9", conversation_id="thread-4")
    score = MessageScore(id="tw-1", complaint_probability=0.91, is_complaint=True, threshold=0.5,
                         severity=Severity.disapproval, severity_probabilities={"disapproval": 0.6},
                         dissatisfaction=0.8, model_version="fast-test")
    flag = Flag(conversation_id="thread-4", customer_id="c-9", channel=Channel.social, risk_level="high",
                probability=0.84, messages=[message], scores=[score],
                reasons=[FlagReason(signal="repeated_contact", detail="third contact", message_id="tw-1")])
    case = case_service.create_case(people[Role.agent], CaseCreate.from_flag(flag, "refund chased three times"))
    assert case.stage is Stage.flagged and case.risk_level == "high"
    assert case.messages[0].message_id == "tw-1" and case.messages[0].score["complaint_probability"] == 0.91
    assert case.flag_reasons[0]["signal"] == "repeated_contact"
    assert case_service.events(case.id)[0].after["messages"] == ["tw-1"]


def test_unknown_cases_and_tokens(case_service, people):
    with pytest.raises(CaseNotFoundError, match="no case 404"):
        case_service.get_case(404)
    token = case_service.add_user("new.agent", Role.agent)
    assert case_service.authenticate(token).username == "new.agent"
    with case_service.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM users WHERE username = 'new.agent'")).scalar_one()
    assert token not in stored and len(stored) == 64
    case_service.rotate_token("new.agent")
    with pytest.raises(Exception, match="not valid"):
        case_service.authenticate(token)


def test_a_paused_clock_in_its_warning_window_schedules_nothing(case_service, people, clock):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent, profile="internal_sla")
    walk(case_service, agent, case_id, ("acknowledge", {}))
    clock.now = datetime(2026, 12, 8, 12, tzinfo=UTC)  # resolution is due at the end of Tuesday 8 December
    case_service.set_paused(agent, case_id, PauseRequest(paused=True, reason="waiting for statements"))
    version = case_service.get_case(case_id).version
    clock.advance(hours=1)
    assert case_service.sweep() == [] and case_service.get_case(case_id).version == version
    clock.now = datetime(2026, 12, 10, 12, tzinfo=UTC)  # two business days paused: due at the end of Thursday
    case = case_service.set_paused(agent, case_id, PauseRequest(paused=False, reason="statements arrived"))
    resolution = {d.clock: d for d in case.deadlines}["resolution"]
    assert resolution.status is ClockStatus.warning and resolution.due_at == datetime(2026, 12, 11, tzinfo=UTC)
    assert [(a.clock, a.kind) for a in case_service.sweep()] == [("resolution", "deadline_warning")]


def test_a_complaint_can_be_dated_when_it_arrived(case_service, people, clock):
    agent = people[Role.agent]
    case_id = case_service.create_case(agent, CaseCreate(summary="fee charged twice", channel=Channel.email)).id
    arrived = clock.now - timedelta(days=3)
    with pytest.raises(CaseInputError, match="received_at.*future"):
        walk(case_service, agent, case_id, ("receive", {"received_at": clock.now + timedelta(hours=1)}))
    with pytest.raises(CaseInputError, match="received_at.*only dates a receive"):
        walk(case_service, agent, case_id, ("prevent", {"note": "sorted", "received_at": arrived}))
    walk(case_service, agent, case_id, ("receive", {"received_at": arrived}))
    case = case_service.get_case(case_id)
    assert case.milestones["received"] == arrived
    assert case_service.events(case_id)[-1].after["received_at"] == arrived.isoformat()


def test_a_deadlocked_complaint_closes_once_the_final_response_has_gone(case_service, people):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)
    walk(case_service, agent, case_id, *TO_FINDINGS,
         ("record_findings", {"outcome": "justified", "evidence": "fee charged twice on the statement"}))
    option_id = case_service.add_option(agent, case_id, option("35")).options[0].id
    walk(case_service, agent, case_id, ("assess_options", {}), ("offer_solution", {"option_id": option_id}),
         ("reject", {"note": "wants £500 compensation"}))
    closing = ("close", {"root_cause": "billing_error", "note": "no agreement: final response sent"})
    with pytest.raises(CaseInputError, match="final_response or deadlock_letter"):
        walk(case_service, agent, case_id, closing)
    case_service.add_communication(agent, case_id, CommunicationRequest(
        channel="email", direction="outbound", kind="final_response", content="our final response"))
    walk(case_service, agent, case_id, closing)
    assert case_service.get_case(case_id).stage is Stage.closed


def test_a_summary_resolution_closes_a_complaint_early(case_service, people):
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)
    closing = ("close", {"root_cause": "billing_error", "note": "fee refunded the same day"})
    with pytest.raises(CaseInputError, match="summary_resolution"):
        walk(case_service, agent, case_id, closing)
    case_service.add_communication(agent, case_id, CommunicationRequest(
        channel="email", direction="outbound", kind="summary_resolution", content="we have refunded the fee"))
    walk(case_service, agent, case_id, closing)
    assert case_service.get_case(case_id).stage is Stage.closed


@pytest.mark.parametrize(("reasons", "where"), [([{"weight": float("nan")}], r"reasons\[0\]\.weight is nan"),
                                                ([{"detail": "a\x00b"}], r"reasons\[0\]\.detail holds a NUL")])
def test_what_no_store_can_keep_is_refused_naming_the_field(reasons, where):
    with pytest.raises(ValueError, match=where):
        CaseCreate(summary="fee charged twice", channel=Channel.email, reasons=reasons)
    with pytest.raises(ValueError, match="note holds a NUL"):
        NoteRequest(note="called \x00 back")


def test_verify_reads_a_live_case_as_it_stood(case_service, people):
    """An event appended between reading a case's head and reading its log is not tampering."""
    agent = people[Role.agent]
    case_id = new_complaint(case_service, agent)
    appended = []

    @event.listens_for(case_service.engine, "after_cursor_execute")
    def _append_meanwhile(conn, cursor, statement, *args):
        if statement.lstrip().startswith("SELECT") and "cases.head_hash" in statement and not appended:
            appended.append(True)
            case_service.add_note(agent, case_id, NoteRequest(note="written while the check ran"))

    try:
        report = case_service.verify()
    finally:
        event.remove(case_service.engine, "after_cursor_execute", _append_meanwhile)
    assert appended and report.intact, report.problems


def test_the_urgent_order_fetches_the_riskiest_and_soonest_first(case_service, people, clock):
    agent = people[Role.agent]
    overdue = new_complaint(case_service, agent, risk_level="complaint", received_at=datetime(2026, 9, 1, tzinfo=UTC))
    case_service.sweep()  # both its clocks have breached: no alert is left pending on it
    with case_service.engine.connect() as conn:
        assert conn.execute(text("SELECT next_alert_at FROM cases WHERE id = :id"), {"id": overdue}).scalar() is None
    clock.advance(minutes=1)
    soon = new_complaint(case_service, agent, risk_level="complaint")
    unclocked = new_complaint(case_service, agent, risk_level="complaint", stage="flagged")
    low = new_complaint(case_service, agent, risk_level="low")
    tweet = new_complaint(case_service, agent, risk_level="high", channel=Channel.social)
    urgent = [c.id for c in case_service.list_cases(open_only=True, order="urgency")]
    assert urgent == [overdue, soon, unclocked, tweet, low]
    assert [c.id for c in case_service.list_cases(open_only=True, limit=2, order="urgency")] == [overdue, soon]
    assert case_service.list_cases(open_only=True, limit=1)[0].id == tweet  # the default: latest update first
    assert [c.id for c in case_service.list_cases(channel="social", order="urgency")] == [tweet]
    assert case_service.count_cases(open_only=True) == 5 and case_service.count_cases(channel="social") == 1
    assert case_service.count_cases(stage=Stage.flagged, assigned_role=Role.agent) == 1


def test_a_sessions_token_fingerprint_holds_only_until_the_token_is_rotated(case_service):
    from pipeline.cases.service import hash_token, token_fingerprint
    from pipeline.errors import AuthenticationError

    token = case_service.add_user("fp.agent", Role.agent)
    mark = token_fingerprint(hash_token(token))
    assert len(mark) == 16 and mark not in hash_token(token)
    assert case_service.actor("fp.agent", fingerprint=mark).username == "fp.agent"
    case_service.rotate_token("fp.agent")
    with pytest.raises(AuthenticationError, match="rotated"):
        case_service.actor("fp.agent", fingerprint=mark)
    assert case_service.actor("fp.agent").username == "fp.agent"
