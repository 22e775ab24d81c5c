"""Each regulatory clock pinned to dated examples across weekends, bank holidays and clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cases.clocks import ClockStatus, Milestone, Pause, evaluate, load_profiles
from pipeline.errors import ConfigError

PROFILES = load_profiles()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def clock(profile: str, name: str, milestones: dict[Milestone, datetime], now: datetime, pauses=(), replies=()):
    return next(d for d in evaluate(PROFILES[profile], milestones, now, pauses, replies) if d.clock == name)


def received(at: datetime) -> dict[Milestone, datetime]:
    return {Milestone.received: at}


@pytest.mark.parametrize(
    ("received_at", "due", "why"),
    [
        (utc(2026, 12, 18, 14), utc(2026, 12, 24), "Friday: Mon, Tue, Wed are the three business days"),
        (utc(2026, 12, 23, 9), utc(2026, 12, 31), "Christmas Day and Boxing Day (observed Mon 28th) skipped"),
        (utc(2027, 3, 25, 10), utc(2027, 4, 1, 23), "Good Friday and Easter Monday skipped; ends at BST midnight"),
        (utc(2026, 11, 28, 9), utc(2026, 12, 3), "received on a Saturday: Mon, Tue, Wed"),
    ],
)
def test_fca_summary_resolution_closes_at_the_end_of_the_third_business_day(received_at, due, why):
    assert clock("fca_disp", "summary_resolution", received(received_at), received_at).due_at == due, why


def test_fca_final_response_is_due_eight_weeks_after_receipt_whatever_the_holidays():
    d = clock("fca_disp", "final_response", received(utc(2026, 11, 24, 10)), utc(2026, 11, 24, 10))
    assert d.due_at == utc(2027, 1, 20)  # 19 January 2027 is the last day; Christmas does not extend it
    assert d.rule == "DISP 1.6.2R"


def test_fca_final_response_warns_a_week_ahead_then_breaches():
    m = received(utc(2026, 11, 24, 10))
    assert clock("fca_disp", "final_response", m, utc(2027, 1, 12)).status is ClockStatus.running
    assert clock("fca_disp", "final_response", m, utc(2027, 1, 13, 1)).status is ClockStatus.warning
    assert clock("fca_disp", "final_response", m, utc(2027, 1, 20)).status is ClockStatus.breached


def test_a_holding_response_meets_the_fca_eight_week_duty_and_a_late_one_is_marked_late():
    m = received(utc(2026, 11, 24, 10))
    on_time = clock("fca_disp", "final_response", {**m, Milestone.holding_response: utc(2027, 1, 19, 16)}, utc(2027, 2, 1))
    late = clock("fca_disp", "final_response", {**m, Milestone.final_response: utc(2027, 1, 21, 9)}, utc(2027, 2, 1))
    assert on_time.status is ClockStatus.met
    assert late.status is ClockStatus.met_late


def test_fca_ombudsman_referral_window_runs_six_months_from_the_final_response():
    m = {**received(utc(2026, 11, 24)), Milestone.final_response: utc(2027, 1, 15, 12)}
    d = clock("fca_disp", "ombudsman_referral", m, utc(2027, 7, 15, 12))
    assert d.due_at == utc(2027, 7, 15, 23)  # midnight ending 15 July, London summer time
    assert d.status is ClockStatus.open
    assert clock("fca_disp", "ombudsman_referral", m, utc(2027, 7, 16)).status is ClockStatus.expired


def test_ombudsman_window_has_not_started_before_a_final_response():
    d = clock("fca_disp", "ombudsman_referral", received(utc(2026, 11, 24)), utc(2026, 11, 25))
    assert d.status is ClockStatus.not_started and d.due_at is None


def test_payment_services_final_response_is_15_business_days_or_35_after_a_holding_reply():
    m = received(utc(2026, 12, 14, 11))  # a Monday; Christmas, Boxing Day (obs.) and New Year fall inside
    assert clock("fca_disp_payments", "final_response", m, utc(2026, 12, 15)).due_at == utc(2027, 1, 8)
    extended = {**m, Milestone.holding_response: utc(2027, 1, 6, 9)}
    d = clock("fca_disp_payments", "final_response", extended, utc(2027, 1, 10))
    assert d.due_at == utc(2027, 2, 5)
    assert d.status is ClockStatus.running  # the holding reply extends the limit but does not meet it


def test_a_holding_reply_sent_after_the_original_limit_extends_nothing():
    """DISP 1.6.2AR: 35 business days only if the holding reply came within the 15."""
    m = received(utc(2026, 6, 1, 9))
    breached = clock("fca_disp_payments", "final_response", m, utc(2026, 7, 2))
    assert breached.status is ClockStatus.breached and breached.due_at == utc(2026, 6, 22, 23)
    late_holding = {**m, Milestone.holding_response: utc(2026, 7, 1, 9)}
    d = clock("fca_disp_payments", "final_response", late_holding, utc(2026, 7, 2))
    assert d.status is ClockStatus.breached and d.due_at == breached.due_at
    in_time = {**m, Milestone.holding_response: utc(2026, 6, 22, 16)}  # the 15th business day itself
    assert clock("fca_disp_payments", "final_response", in_time, utc(2026, 7, 2)).status is ClockStatus.running


def test_cfpb_counts_calendar_days_in_new_york_time_through_thanksgiving():
    m = received(utc(2026, 11, 20, 15))
    assert clock("cfpb", "company_response", m, utc(2026, 11, 21)).due_at == utc(2026, 12, 6, 5)
    assert clock("cfpb", "final_response", m, utc(2026, 11, 21)).due_at == utc(2027, 1, 20, 5)


@pytest.mark.parametrize("profile", ["ofcom", "ofgem"])
def test_a_deadlock_letter_meets_the_eight_week_limit_and_opens_the_ombudsman_route(profile):
    m = {**received(utc(2026, 11, 24)), Milestone.deadlock_letter: utc(2027, 1, 5, 12)}
    assert clock(profile, "resolution", m, utc(2027, 1, 6)).status is ClockStatus.met
    window = next(d for d in evaluate(PROFILES[profile], m, utc(2027, 1, 6)) if d.kind == "window")
    assert window.due_at == utc(2028, 1, 6)


def test_internal_sla_first_response_counts_hours():
    d = clock("internal_sla", "first_response", received(utc(2026, 11, 24, 10)), utc(2026, 11, 24, 13, 30))
    assert d.due_at == utc(2026, 11, 24, 14)
    assert d.status is ClockStatus.warning


def test_internal_sla_resolution_pauses_while_waiting_on_the_customer():
    m = received(utc(2026, 11, 24, 10))
    assert clock("internal_sla", "resolution", m, utc(2026, 11, 25)).due_at == utc(2026, 12, 9)
    pauses = [Pause(utc(2026, 11, 26, 9), utc(2026, 11, 28, 9))]
    assert clock("internal_sla", "resolution", m, utc(2026, 12, 1), pauses).due_at == utc(2026, 12, 11)
    ongoing = [Pause(utc(2026, 12, 8, 0))]
    d = clock("internal_sla", "resolution", m, utc(2026, 12, 10), ongoing)
    assert d.status is ClockStatus.paused and d.due_at == utc(2026, 12, 11)


def test_a_weekend_spent_paused_gives_back_no_business_day():
    m = received(utc(2026, 11, 24, 10))  # due at the end of Tuesday 8 December
    weekend = [Pause(utc(2026, 11, 27, 17), utc(2026, 11, 30, 9))]  # Friday 17:00 to Monday 09:00
    d = clock("internal_sla", "resolution", m, utc(2026, 12, 1), weekend)
    assert d.due_at == utc(2026, 12, 10)  # 16 business hours paused: one whole day back, still at midnight
    week = [Pause(utc(2026, 11, 30), utc(2026, 12, 7))]  # Monday to Monday: five business days
    assert clock("internal_sla", "resolution", m, utc(2026, 12, 8), week).due_at == utc(2026, 12, 16)
    saturday = [Pause(utc(2026, 11, 28, 9), utc(2026, 11, 28, 18))]
    assert clock("internal_sla", "resolution", m, utc(2026, 12, 1), saturday).due_at == utc(2026, 12, 9)


def test_a_pause_after_the_clock_stopped_changes_nothing():
    m = {**received(utc(2026, 6, 1, 9)), Milestone.final_response: utc(2026, 6, 17, 12)}  # due end of 12 June
    late = clock("internal_sla", "resolution", m, utc(2026, 6, 30))
    assert late.status is ClockStatus.met_late
    after = [Pause(utc(2026, 6, 18, 9), utc(2026, 6, 25, 9))]
    assert clock("internal_sla", "resolution", m, utc(2026, 6, 30), after) == late
    still_open = [Pause(utc(2026, 6, 18, 9))]
    d = clock("internal_sla", "resolution", m, utc(2026, 6, 30), still_open)
    assert d == late and d.status is not ClockStatus.paused


def test_a_clock_started_after_the_first_reply_is_stopped_by_the_next_reply():
    """A vulnerability disclosed on Tuesday, after Monday's reply: Tuesday's answer meets the care clock."""
    monday, tuesday = utc(2026, 11, 23, 10), utc(2026, 11, 24, 9)
    m = {**received(monday - timedelta(hours=1)), Milestone.first_response: monday,
         Milestone.acknowledged: monday, Milestone.vulnerability_noted: tuesday}
    waiting = clock("internal_sla", "care_first_response", m, tuesday + timedelta(hours=1), replies=[monday])
    assert waiting.status is ClockStatus.warning and waiting.met_at is None
    replies = [monday, tuesday + timedelta(minutes=30), tuesday + timedelta(hours=5)]
    d = clock("internal_sla", "care_first_response", m, tuesday + timedelta(hours=6), replies=replies)
    assert d.status is ClockStatus.met and d.met_at == tuesday + timedelta(minutes=30)
    assert clock("internal_sla", "first_response", m, tuesday, replies=replies).met_at == monday


def test_fca_clocks_do_not_pause():
    m = received(utc(2026, 11, 24, 10))
    pauses = [Pause(utc(2026, 11, 25), utc(2026, 12, 25))]
    assert clock("fca_disp", "final_response", m, utc(2027, 1, 1), pauses).due_at == utc(2027, 1, 20)
    assert not PROFILES["fca_disp"].pausable and PROFILES["internal_sla"].pausable


def test_the_holiday_calendar_is_configuration(tmp_path: Path):
    """A Scottish profile skips St Andrew's Day (Monday 30 November 2026); England's does not."""
    text = (Path(__file__).parents[2] / "pipeline/cases/profiles.yaml").read_text()
    (tmp_path / "p.yaml").write_text(text.replace("{country: GB, subdiv: ENG}", "{country: GB, subdiv: SCT}"))
    scottish = load_profiles(tmp_path / "p.yaml")["fca_disp"]
    friday = utc(2026, 11, 27, 10)
    spec = next(c for c in scottish.clocks if c.name == "summary_resolution")
    assert scottish.due(spec, friday) == utc(2026, 12, 4)  # Tue, Wed, Thu: ends at midnight after Thursday
    assert PROFILES["fca_disp"].due(spec, friday) == utc(2026, 12, 4) - timedelta(days=1)  # Mon, Tue, Wed


def test_a_broken_profile_file_names_the_file_and_the_problem(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("x:\n  title: t\n  complaint_definition: d\n  timezone: Mars/Olympus\n"
                   "  calendar: {country: GB}\n  clocks: []\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*Mars/Olympus"):
        load_profiles(bad)
    bad.write_text("x:\n  title: t\n")
    with pytest.raises(ConfigError, match="complaint_definition"):
        load_profiles(bad)
