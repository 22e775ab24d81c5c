"""Volumes, rates and deadline compliance counted by hand from the dated history in conftest.py."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from pipeline.analytics.metrics import breakdown, kpis, volumes
from pipeline.analytics.records import Period, load_records
from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate, CommunicationRequest
from pipeline.schema import (
    Channel,
    Cue,
    CueLabel,
    Flag,
    FlagReason,
    Message,
    MessageScore,
    Priority,
    RiskLevel,
    Severity,
    VulnerabilityFinding,
)
from tests.analytics.conftest import at
from tests.cases.helpers import users, walk

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def records(history):
    return load_records(history.service.engine, NOVEMBER)


def test_headline_figures(history, records):
    k = kpis(records, history.service.profiles, now=at(12, 1, 0))
    assert (k.flags, k.complaints, k.prevented, k.closed) == (5, 4, 1, 2)
    # flags that were not complaints when opened: 7 (prevented) and 8 (became a complaint)
    assert (k.prevention_rate, k.conversion_rate) == (0.5, 0.5)
    assert (k.findings, k.justified_rate) == (2, 0.5)  # 2 justified, 3 unjustified
    assert k.median_hours_to_acknowledge == 216.0  # case 2: received 3 Nov, acknowledged 12 Nov
    assert (k.median_days_to_resolve, k.mean_days_to_resolve) == (44.0, 44.0)  # 18 and 70 days
    assert k.satisfied_rate == 1.0
    assert (k.escalations, k.customer_requested_escalations, k.ombudsman_referrals) == (1, 1, 0)
    assert k.escalations_by_target == {"team_leader": 1}
    assert k.redress_paid == 35.0
    assert (k.repeat_complainants, k.repeat_share) == (1, 0.25)  # customer-repeat: cases 2 and 8
    assert k.vulnerable_cases == 0


def test_deadline_compliance_per_clock(history, records):
    k = kpis(records, history.service.profiles, now=at(12, 1, 0))
    clocks = {c.clock: c for c in k.compliance}
    ack = clocks["acknowledgement"]  # 1 met (summary resolution), 2 late, 8 breached, 4 still running
    assert (ack.met, ack.met_late, ack.breached, ack.running, ack.due) == (1, 1, 1, 1, 3)
    final = clocks["final_response"]  # 1 and 2 met; 8 and 4 running
    assert (final.met, final.met_late, final.breached, final.running) == (2, 0, 0, 2)
    assert "summary_resolution" not in clocks  # a window is the customer's, not a duty to comply with


def test_daily_volumes_cover_every_day(records):
    daily = volumes(records, "D")
    assert len(daily) == 30 and daily.period.is_monotonic_increasing
    fifth = daily.set_index(daily.period.dt.date).loc[date(2026, 11, 5)]
    assert (fifth["flags"], fifth["complaints"]) == (2, 0)
    assert daily["flags"].sum() == 5 and daily.complaints.sum() == 4 and daily.closed.sum() == 2


def test_weekly_volumes_start_on_monday(records):
    weekly = volumes(records, "W", "queue")
    assert set(weekly.period.dt.day_of_week) == {0}
    social = weekly[(weekly.category == "social") & (weekly.period == pd.Timestamp("2026-11-02", tz="UTC"))]
    assert social["flags"].item() == 2


def test_breakdown_by_topic_has_rates_and_shares(records):
    table = breakdown(records, "topic").set_index("category")
    assert table.loc["cards", ["flags", "complaints"]].tolist() == [2, 2]
    assert table.loc["transfers", ["flags", "complaints", "prevented"]].tolist() == [2, 1, 1]
    assert table.loc["transfers", "conversion_rate"] == 0.5
    assert table.share.sum() == pytest.approx(1.0)


def test_dismissed_flags_are_counted_as_false_alarms(history, clock):
    service = history.service
    agent, leader = service.actor(Role.agent.value), service.actor(Role.team_leader.value)  # made by the history
    clock.now = at(11, 10)
    flags = [service.create_case(agent, CaseCreate(summary=f"flag {n}", channel=Channel.social, stage="flagged",
                                                   customer_id=f"customer-{n}")).id for n in (9, 10)]
    clock.now = at(11, 11)
    for case_id in flags:
        walk(service, agent, case_id, ("dismiss", {"note": "a question about opening hours"}))
    clock.now = at(12, 2)  # after the period: November's report still counts the dismissal it saw
    walk(service, leader, flags[1], ("reopen", {"reason": "the customer came back angry"}))

    k = kpis(load_records(service.engine, NOVEMBER), service.profiles, now=at(12, 1, 0))
    assert (k.flags, k.dismissed) == (7, 2)
    # flags not complaints when opened: 7 (prevented), 8 (became a complaint), 9 and 10 (dismissed)
    assert (k.false_alarm_rate, k.prevention_rate) == (0.5, 0.25)


def test_a_flag_reopened_within_the_period_is_neither_prevented_nor_a_false_alarm(history, clock):
    service = history.service
    agent, leader = service.actor(Role.agent.value), service.actor(Role.team_leader.value)
    clock.now = at(11, 10)
    dismissed = service.create_case(agent, CaseCreate(summary="flag 9", channel=Channel.social, stage="flagged",
                                                      customer_id="customer-9")).id
    walk(service, agent, dismissed, ("dismiss", {"note": "a question about opening hours"}))
    clock.now = at(11, 12)
    walk(service, leader, dismissed, ("reopen", {"reason": "the customer came back angry"}))
    walk(service, leader, history.ids[7], ("reopen", {"reason": "the transfer is still missing"}))

    k = kpis(load_records(service.engine, NOVEMBER), service.profiles, now=at(12, 1, 0))
    # flags not complaints when opened: 7 (prevented, reopened), 8 (became a complaint), 9 (dismissed, reopened)
    assert (k.flags, k.prevented, k.dismissed) == (6, 0, 0)
    assert (k.prevention_rate, k.false_alarm_rate) == (0.0, 0.0)


def test_a_flag_sent_back_to_the_queue_by_the_stream_is_no_longer_prevented(case_service, clock):
    agent = users(case_service)[Role.agent]
    clock.now = at(11, 3)
    case_id = case_service.intake(_flag("m1")).case_id
    walk(case_service, agent, case_id, ("prevent", {"note": "apologised, refund sent"}))
    clock.now = at(11, 4)
    case_service.intake(_flag("m2"))  # dissatisfied again: the stream reopens it
    assert case_service.events(case_id)[-1].after["reopened"] is True
    clock.now = at(11, 5)
    other = case_service.intake(_flag("x1", conversation="thread-2")).case_id
    walk(case_service, agent, other, ("prevent", {"note": "answered the question"}))

    k = kpis(load_records(case_service.engine, NOVEMBER), case_service.profiles, now=at(12, 1, 0))
    assert (k.flags, k.prevented, k.prevention_rate) == (2, 1, 0.5)
    # seen from the day before the reopening, it was still prevented
    early = kpis(load_records(case_service.engine, Period(date(2026, 11, 1), date(2026, 11, 3))),
                 case_service.profiles, now=at(11, 4, 0))
    assert (early.prevented, early.prevention_rate) == (1, 1.0)


def _flag(message_id: str, conversation: str = "thread-1", vulnerable: bool = False,
          level: RiskLevel = RiskLevel.elevated, cue: CueLabel | None = None, queue: str = "social-care",
          sent: datetime | None = None) -> Flag:
    text = f"message {message_id}: still waiting for my refund since my husband died"
    findings = [VulnerabilityFinding(message_id=message_id, driver="life_events", start=text.index("my husband"),
                                     end=len(text), text="my husband died", weight=0.9,
                                     explanation="bereavement")] if vulnerable else []
    message = Message(id=message_id, text=text,
                      channel=Channel.social, conversation_id=conversation, customer_id="c-1",
                      timestamp=sent or at(11, 3, 9))
    score = MessageScore(id=message_id, complaint_probability=0.4, is_complaint=False, threshold=0.5,
                         severity=Severity.disapproval, severity_probabilities={}, dissatisfaction=0.6,
                         model_version="fast-test",
                         cues=[Cue(label=cue, start=0, end=7, text="message", weight=0.5, explanation="test")]
                         if cue else [])
    return Flag(conversation_id=conversation, customer_id="c-1", channel=Channel.social, risk_level=level,
                probability=0.4, messages=[message], scores=[score], queue=queue, priority=Priority.normal,
                vulnerability=findings, reasons=[FlagReason(signal="level", detail="dissatisfaction running at 0.60", message_id=message_id)])


def test_the_care_clock_of_vulnerable_customers_is_in_the_compliance_table(case_service, clock):
    agent = users(case_service)[Role.agent]
    clock.now = at(11, 16)
    answered = case_service.intake(_flag("v1", conversation="thread-v1", vulnerable=True,
                                         level=RiskLevel.complaint)).case_id
    clock.now = at(11, 16, 11)  # an hour later: within the two hours
    case_service.add_communication(agent, answered, CommunicationRequest(
        channel=Channel.social, direction="outbound", kind="message", content="we are here to help"))
    clock.now = at(11, 17)
    case_service.intake(_flag("v2", conversation="thread-v2", vulnerable=True, level=RiskLevel.complaint))

    k = kpis(load_records(case_service.engine, NOVEMBER), case_service.profiles, now=at(12, 1, 0))
    care = {c.clock: c for c in k.compliance}["care_first_response"]
    assert (care.met, care.met_late, care.breached, care.running, care.due) == (1, 0, 1, 0, 2)
    assert k.vulnerable_cases == 2


def test_conversion_is_counted_on_one_cohort_in_every_breakdown(case_service, clock):
    """billing: f0 and f1 were flagged in October and received in November; f2 flagged and received in
    November; f3 flagged in November and never received. cards: f5 flagged on 28 November, received on
    2 December. Cues: f0's complaint message and f2's and f3's first ones wait too long; f2 threatens
    to leave in December, after the period."""
    agent = users(case_service)[Role.agent]
    wait = CueLabel.waiting_time

    def intake(message_id: str, when, **fields) -> int:
        clock.now = when
        return case_service.intake(_flag(message_id, conversation=message_id.split("-")[0], sent=when,
                                         **fields)).case_id

    f0 = intake("f0-a", at(10, 29), queue="billing")
    f1 = intake("f1-a", at(10, 30), queue="billing")
    intake("f0-b", at(11, 3), queue="billing", cue=wait, level=RiskLevel.complaint)  # received on it
    clock.now = at(11, 2)
    walk(case_service, agent, f1, ("receive", {"note": "asked to complain"}))
    f2 = intake("f2-a", at(11, 3), queue="billing", cue=wait)
    f3 = intake("f3-a", at(11, 5), queue="billing", cue=wait)
    clock.now = at(11, 4)
    walk(case_service, agent, f2, ("receive", {"note": "asked to complain"}))
    f5 = intake("f5-a", at(11, 28), queue="cards")
    clock.now = at(12, 2)
    walk(case_service, agent, f5, ("receive", {"note": "asked to complain"}))
    intake("f2-b", at(12, 2), queue="billing", cue=CueLabel.churn_threat)
    assert len({f0, f1, f2, f3, f5}) == 5

    records = load_records(case_service.engine, NOVEMBER)
    queues = breakdown(records, "queue").set_index("category")
    assert queues.loc["billing", ["flags", "complaints"]].tolist() == [2, 3]
    assert queues.loc["billing", "conversion_rate"] == 0.5  # f2 of f2 and f3, not 3 complaints / 2 flags
    assert queues.loc["cards", "conversion_rate"] == 0.0  # received after the period
    assert kpis(records, case_service.profiles, now=at(12, 3)).conversion_rate == 0.3333  # f2 of f2, f3, f5

    cues = breakdown(records, "cue").set_index("category")
    assert cues.loc["waiting_time", ["flags", "complaints", "conversion_rate"]].tolist() == [2, 2, 0.5]
    assert "churn_threat" not in cues.index  # said after the period
    assert "churn_threat" not in set(volumes(records, "D", "cue").category)
