"""The complaints return recomputed by hand from the dated history in conftest.py."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.analytics.records import Period, load_records
from pipeline.analytics.returns import complaints_return


def test_the_return_matches_the_hand_count(history):
    service = history.service
    records = load_records(service.engine, Period(date(2026, 11, 1), date(2026, 11, 30)))
    result = complaints_return(records, service.profiles)
    assert result.opened == 4  # cases 1, 2, 4 and 8 (a flag received on 9 Nov); 3 and 5 earlier, 6 later
    assert result.closed == 3  # 1 (summary resolution), 2 (final response), 3 (final response)
    assert result.closed_within_3_business_days == 1  # case 1
    assert result.closed_within_8_weeks == 1  # case 2
    assert result.closed_after_8_weeks == 1  # case 3
    assert result.upheld == 2  # case 1 (summary resolution counts as upheld) and case 2 (justified)
    assert result.upheld_rate == pytest.approx(2 / 3, abs=1e-4)
    assert result.redress_paid == 35.0
    assert result.outstanding_at_end == 3  # 4, 5 and 8 received by 30 Nov and not closed


def test_a_period_before_any_closure_has_everything_outstanding(history):
    service = history.service
    records = load_records(service.engine, Period(date(2026, 10, 1), date(2026, 10, 31)))
    result = complaints_return(records, service.profiles)
    assert (result.opened, result.closed, result.outstanding_at_end) == (1, 0, 2)  # 5 opened; 3 and 5 open
    assert result.upheld_rate is None


def test_an_unknown_profile_is_named(history):
    records = load_records(history.service.engine, Period(date(2026, 11, 1), date(2026, 11, 30)))
    with pytest.raises(ValueError, match="unknown regulatory profile.*nope"):
        complaints_return(records, history.service.profiles, ["nope"])


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="swap --from and --to"):
        Period(date(2026, 11, 30), date(2026, 11, 1))
