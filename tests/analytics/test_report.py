"""The whole report on the dated history: the same figures in JSON, HTML and CSV, and from the CLI."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from pipeline.analytics.records import Period
from pipeline.analytics.report import build_report, render_html, write_report
from pipeline.cli import app
from pipeline.config import get_settings
from tests.analytics.conftest import at

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def report(history):
    return build_report(history.service.engine, history.service.profiles, NOVEMBER, now=at(12, 1, 0), themes=False)


def test_the_report_carries_the_counted_figures(report):
    s = report.summary
    assert (s.kpis.flags, s.kpis.complaints) == (5, 4)
    assert s.complaints_return.closed == 3 and s.complaints_return.redress_paid == 35.0
    assert s.themes == [] and "not asked" in s.themes_note
    assert s.spikes == []  # a handful of cases never breaks a control limit
    causes = {(c.dimension, c.category): c for c in s.root_causes}
    billing = causes[("root_cause", "billing_error")]
    assert billing.recommendation.change == "process" and "billing" in billing.recommendation.feedback_to
    assert billing.redress_paid == 35.0
    assert causes[("topic", "cards")].flags == 2


def test_html_and_csv_say_the_same(report, tmp_path):
    written = write_report(report, tmp_path)
    html = written["html"].read_text()
    assert "<svg" in html and "Complaints return" in html and "billing_error" in html
    lines = {row["line"]: row["value"] for row in csv.DictReader(written["complaints_return"].open())}
    assert lines["closed within 3 business days"] == "1" and lines["outstanding at end"] == "3"
    daily = list(csv.DictReader(written["volumes_daily"].open()))
    assert len(daily) == 30 and sum(int(r["flags"]) for r in daily) == 5
    assert json.loads(written["json"].read_text())["kpis"]["complaints"] == 4


def test_user_text_in_the_report_is_escaped(history, tmp_path):
    service = history.service
    case_id = history.ids[4]
    engine = service.engine
    with engine.begin() as conn:  # a category named by a customer-controlled value
        conn.exec_driver_sql("UPDATE cases SET topic = '<script>alert(1)</script>' WHERE id = %d" % case_id)
    html = render_html(build_report(engine, service.profiles, NOVEMBER, now=at(12, 1, 0), themes=False))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_the_cli_writes_the_report(history, tmp_path, monkeypatch):
    monkeypatch.setenv("EARLYWARN_DATABASE_URL", str(history.service.engine.url.render_as_string(hide_password=False)))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["report", "--from", "2026-11-01", "--to", "2026-11-30", "--output",
                                          str(tmp_path / "out"), "--no-themes"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["complaints_return"]["opened"] == 4 and printed["kpis"]["prevented"] == 1
    assert (tmp_path / "out" / "report.html").is_file()


def test_the_cli_names_a_bad_date():
    result = CliRunner().invoke(app, ["report", "--from", "01/11/2026"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output


def test_a_tracker_that_just_started_marks_no_spikes(case_service):
    """Eight quiet weeks before the first case are weeks without a tracker, not a baseline of zeros."""
    service = case_service
    for n in range(12):  # a busy first day in a fresh store
        service.intake(_flag(n))
    period = Period(service.now().date() - timedelta(days=27), service.now().date())
    report = build_report(service.engine, service.profiles, period, now=service.now(), themes=False)
    assert report.summary.spikes == []


def _flag(n: int):
    from pipeline.schema import Channel, Flag, Message, RiskLevel

    return Flag(conversation_id=f"burst-{n}", channel=Channel.chat, risk_level=RiskLevel.high, probability=0.6,
                messages=[Message(id=f"b{n}", text="still waiting for my refund", channel=Channel.chat)])


def test_the_last_drift_check_is_shown_beside_the_figures(history, tmp_path):
    from pipeline.analytics.report import latest_drift
    from pipeline.config import Settings

    settings = Settings(models_dir=tmp_path)
    assert latest_drift(settings) is None
    saved = {"status": "alert", "summary": "3 of 22 features drifted", "alerts": ["has_url: 24.1% -> 6.5%"],
             "warnings": []}
    (tmp_path / "fast").mkdir()
    (tmp_path / "fast" / "drift_latest.json").write_text(json.dumps(saved))
    drift = latest_drift(settings)
    assert drift == saved
    html = render_html(build_report(history.service.engine, history.service.profiles, NOVEMBER, now=at(12, 1, 0),
                                    themes=False, drift=drift))
    assert "ALERT" in html and "has_url: 24.1% -&gt; 6.5%" in html
