"""The API load benchmark drives a real server over loopback and reports what it saw (not how fast)."""

from __future__ import annotations

from pipeline.benchmarks.cases import MIX, bench_cases


def test_a_short_run_serves_every_request_and_reports_each_operation(tmp_path):
    report = bench_cases(f"sqlite:///{tmp_path / 'ignored.db'}", rate=40, seconds=2, seed_cases=40)
    assert report["requests"] == 80 and report["errors"] == 0
    counts = {op: stats["count"] for op, stats in report["operations"].items()}
    assert set(counts) == set(MIX) and sum(counts.values()) == 80
    assert counts["transition"] > 0  # transitions walked legal steps: an illegal one would be a 409 error
    for stats in report["operations"].values():
        assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    assert report["cpu_ms_per_request"]["server"] > 0
    assert not (tmp_path / "ignored.db").exists()  # a throwaway store, never the one named
