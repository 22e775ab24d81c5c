"""`earlywarn cases letter` against a real SQLite store: preview, send, JSON, and refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import get_settings
from pipeline.errors import CaseInputError

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def run(*args: str) -> dict | list:
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


@pytest.fixture
def case_id(db) -> str:
    run("users", "add", "ann", "--role", "agent")
    return str(run("cases", "create", "-u", "ann", "--summary", "charged twice for one order", "--channel", "email",
                   "--received-at", "2026-11-23T09:00:00+00:00")["id"])


def test_letters_are_previewed_then_sent_from_the_terminal(case_id):
    ack = invoke("cases", "letter", case_id, "--kind", "acknowledgement", "--channel", "letter", "-u", "ann")
    assert ack.exit_code == 0, ack.output
    assert ack.stdout.startswith("Example Services Ltd\n") and "received it on 23 November 2026" in ack.stdout
    assert "recorded as communication" in ack.stderr
    assert run("cases", "show", case_id)["stage"] == "acknowledged"  # the letter took the acknowledge step
    run("cases", "transition", case_id, "confirm_details", "-u", "ann", "--note", "charged twice on 20 Nov")
    run("cases", "transition", case_id, "investigate", "-u", "ann")
    run("cases", "transition", case_id, "record_findings", "-u", "ann", "--outcome", "unjustified", "--evidence",
        "the second charge was a pre-authorisation, released after five days", "--severity", "disapproval")
    assert run("cases", "show", case_id)["findings_severity"] == "disapproval"
    events = len(run("cases", "events", case_id))

    preview = invoke("cases", "letter", case_id, "--kind", "final-response", "--preview", "-u", "ann")
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.startswith("Subject: Your complaint EW-")
    assert "We do not uphold your complaint." in preview.stdout
    assert "preview: complete, nothing recorded" in preview.stderr
    assert len(run("cases", "events", case_id)) == events

    sent = run("cases", "letter", case_id, "--kind", "final-response", "--json", "-u", "ann",
               "--waive-time-limits")
    assert sent["letter"]["complete"] and "We consent to the Financial Ombudsman Service" in sent["letter"]["body"]
    assert sent["communication"]["kind"] == "final_response"
    clocks = {d["clock"]: d["status"] for d in sent["case"]["deadlines"]}
    assert clocks["final_response"] == "met" and clocks["ombudsman_referral"] == "open"
    assert [c["kind"] for c in run("cases", "show", case_id)["communications"]] == ["acknowledgement", "final_response"]


def test_a_holding_response_takes_its_reason_and_date_as_options(case_id):
    sent = run("cases", "letter", case_id, "--kind", "holding_response", "-u", "ann", "--json",
               "--delay-reason", "we are waiting for the card scheme", "--expected-by", "2027-01-20")
    assert "by 20 January 2027" in sent["letter"]["body"] and sent["communication"]["kind"] == "holding_response"


def test_refusals_name_the_missing_fact_or_the_choices(case_id, db):
    early = invoke("cases", "letter", case_id, "--kind", "final-response", "-u", "ann")
    assert early.exit_code != 0 and "record_findings" in str(early.exception)
    bad = invoke("cases", "letter", case_id, "--kind", "thank-you-note", "-u", "ann")
    assert isinstance(bad.exception, CaseInputError) and "final-response" in str(bad.exception)
    env = {**os.environ, "EARLYWARN_DATABASE_URL": f"sqlite:///{db}"}
    refused = subprocess.run([sys.executable, "-c", "from pipeline.cli import main; main()", "cases", "letter",
                              case_id, "--kind", "final-response", "-u", "ann"],
                             env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "record_findings" in " ".join(refused.stderr.split())
    assert run("cases", "show", case_id)["communications"] == []


def test_an_incomplete_preview_exits_1_and_lists_what_is_missing(case_id, monkeypatch, tmp_path):
    (tmp_path / "acknowledgement.email.j2").write_text("Subject: Thanks\n\nThanks, {{ handler }}. {{ case.reference }}"
                                                      " {{ received_on }} {{ response_due }}")
    monkeypatch.setenv("EARLYWARN_LETTERS_DIR", str(tmp_path))
    get_settings.cache_clear()
    preview = invoke("cases", "letter", case_id, "--kind", "acknowledgement", "--preview", "-u", "ann")
    assert preview.exit_code == 1 and "missing complaints_procedure" in preview.stderr
    assert preview.stdout.startswith("Subject: Thanks")
    refused = invoke("cases", "letter", case_id, "--kind", "acknowledgement", "-u", "ann")
    assert "complaints_procedure" in str(refused.exception)
    assert run("cases", "show", case_id)["stage"] == "received"
