"""Root-cause trends and recommendations, from cases made through the real tracker."""

from __future__ import annotations

import re
from datetime import date

import pytest

from pipeline.analytics.records import Period, load_records
from pipeline.analytics.rootcause import (
    MIN_TREND_FLAGS,
    load_recommendations,
    recommendation_for,
    root_causes,
)
from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate
from pipeline.errors import ConfigError
from pipeline.schema import Channel
from tests.analytics.conftest import at
from tests.cases.helpers import users

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def _flags(service, agent, clock, topic: str, *days: tuple[int, int]) -> None:
    for month, day in days:
        clock.now = at(month, day)
        service.create_case(agent, CaseCreate(summary=f"flag about {topic}", channel=Channel.social,
                                              stage="flagged", topic=topic, customer_id=f"c-{month}-{day}"))


def _trends(service) -> dict[str, tuple[int, float | None, str | None]]:
    records = load_records(service.engine, NOVEMBER, texts=False)
    return {c.category: (c.previous_flags, c.trend, c.trend_note)
            for c in root_causes(records, dimensions=("topic",), examples=0)}


def test_no_trend_against_a_period_before_the_tracker_started(case_service, clock):
    agent = users(case_service)[Role.agent]
    _flags(case_service, agent, clock, "fees", (10, 20), *[(11, d) for d in range(2, 5)])
    previous, trend, note = _trends(case_service)["fees"]
    assert (previous, trend) == (1, None)  # not +200%: the tracker ran for 12 of the 30 days before
    assert note == "the tracker started on 2026-10-20, within the period before"


def test_no_trend_from_a_handful_of_flags_and_a_trend_from_enough(case_service, clock):
    agent = users(case_service)[Role.agent]
    _flags(case_service, agent, clock, "start", (9, 1))  # the tracker ran all of October
    _flags(case_service, agent, clock, "fees", (10, 20), *[(11, d) for d in range(2, 5)])
    _flags(case_service, agent, clock, "cards", *[(10, d) for d in range(2, 2 + MIN_TREND_FLAGS)],
           *[(11, d) for d in range(2, 4 + MIN_TREND_FLAGS)])
    trends = _trends(case_service)
    assert trends["fees"] == (1, None, f"1 flag in the period before, fewer than the {MIN_TREND_FLAGS} a trend needs")
    assert trends["cards"] == (MIN_TREND_FLAGS, round(2 / MIN_TREND_FLAGS, 4), None)


def test_a_missing_recommendation_names_the_file_it_was_looked_for_in(tmp_path):
    custom = tmp_path / "ours.yaml"
    custom.write_text("topic:*: {change: process, feedback_to: ops, suggestion: look into it}\n")
    table = load_recommendations(custom)
    assert recommendation_for("topic", "fees", table).feedback_to == "ops"
    with pytest.raises(ConfigError, match=re.escape(f"{custom}: no recommendation for cue:waiting_time")):
        recommendation_for("cue", "waiting_time", table)
    with pytest.raises(ConfigError, match="the recommendations given: no recommendation for cue:waiting_time"):
        recommendation_for("cue", "waiting_time", dict(table))  # a plain mapping: no file to name

