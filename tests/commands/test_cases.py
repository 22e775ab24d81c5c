"""`earlywarn cases …` and `earlywarn users …` against a real SQLite store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def run(*args: str) -> dict | list:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_a_case_worked_from_the_terminal(db):
    token = run("users", "add", "ann", "--role", "agent")["token"]
    assert len(token) >= 40
    run("users", "add", "tess", "--role", "team_leader")
    case = run("cases", "create", "-u", "ann", "--summary", "roaming charges after cancelling", "--channel", "email",
               "--received-at", "2026-11-23T09:00:00+00:00")
    cid = str(case["id"])
    assert case["stage"] == "received"
    run("cases", "transition", cid, "acknowledge", "-u", "ann")
    run("cases", "escalate", cid, "team_leader", "-u", "ann", "--reason", "asked for a manager", "--customer-requested")
    run("cases", "note", cid, "called back at 3pm", "-u", "tess")
    run("cases", "communicate", cid, "-u", "tess", "--content", "we are looking into the charges", "--kind", "update")
    run("cases", "feedback", cid, "-u", "tess", "--to", "retention team", "--lesson", "stop roaming on cancel",
        "--concerns", "process")
    shown = run("cases", "show", cid)
    assert shown["assigned_role"] == "team_leader" and shown["last_contact_at"] is not None
    assert shown["feedback"][0]["to_colleague"] == "retention team"
    events = run("cases", "events", cid)
    assert [e["action"] for e in events] == ["create", "acknowledge", "escalate", "note", "communication", "feedback"]
    assert [c["id"] for c in run("cases", "list", "--open")] == [case["id"]]
    assert run("cases", "verify")["intact"] is True


def test_cli_refusals_exit_2_with_the_reason_and_verify_exits_1_on_tampering(db):
    env = {**os.environ, "EARLYWARN_DATABASE_URL": f"sqlite:///{db}"}
    earlywarn = [sys.executable, "-c", "from pipeline.cli import main; main()"]
    run("users", "add", "ann", "--role", "agent")
    cid = str(run("cases", "create", "-u", "ann", "--summary", "x", "--received")["id"])
    run("cases", "note", cid, "first note", "-u", "ann")
    refused = subprocess.run([*earlywarn, "cases", "transition", cid, "implement", "-u", "ann"], env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "Allowed from 'received': acknowledge, close" in " ".join(refused.stderr.split())
    with sqlite3.connect(db) as conn:  # a DBA bypassing the append-only triggers
        conn.execute("DROP TRIGGER case_events_no_update")
        conn.execute("UPDATE case_events SET note = 'nothing to see' WHERE seq = 2")
    tampered = subprocess.run([*earlywarn, "cases", "verify"], env=env, capture_output=True, text=True)
    assert tampered.returncode == 1 and "tampered" in tampered.stderr
    assert json.loads(tampered.stdout)["problems"][0]["seq"] == 2
