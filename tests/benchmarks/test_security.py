"""No unauthenticated or over-authority mutation gets through, on either store."""

from __future__ import annotations

from pipeline.benchmarks.security import probe_security


def test_no_forbidden_mutation_succeeds_and_nothing_is_written(case_service):
    report = probe_security(case_service)
    assert report["attempted"] >= 50
    assert set(report["attempted_by_kind"]) == {"unauthenticated", "read_only_role", "over_authority"}
    assert report["succeeded"] == 0, report["succeeded_requests"]
    assert report["events_written"] == 0 and report["users_created"] == 0
    assert set(report["status_codes"]) == {"401", "403"}
