"""Volumes, rates and deadline compliance counted by hand from the dated history in conftest.py."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline.analytics.metrics import breakdown, kpis, volumes
from pipeline.analytics.records import Period, load_records
from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate
from pipeline.schema import Channel
from tests.analytics.conftest import at
from tests.cases.helpers import walk

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
