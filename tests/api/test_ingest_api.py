"""`POST /ingest`: per-message answers, dead letters, backpressure, and the inline stream behind it."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import InlineStream, create_app
from pipeline.api.ingest import Ingest
from pipeline.cases.authority import Role
from pipeline.ingest.sources.queue import QueueSource
from pipeline.ingest.validate import Validator
from pipeline.stream.runner import StreamRunner

ANGRY = ("This is the THIRD time I am asking. My refund was promised two weeks ago and nobody answers. "
         "I want to speak to a manager or I am reporting you to the ombudsman.")


def _client(stages, capacity: int = 1000, run_stream: bool = True):
    source = QueueSource(capacity)
    ingest = Ingest(Validator(), stages.dead_letters, source)
    stream = InlineStream(StreamRunner(stages), source) if run_stream else None
    app = create_app(stages.cases, ingest=ingest, stream=stream)
    token = stages.cases.add_user("intake-bot", Role.agent)
    return TestClient(app), {"Authorization": f"Bearer {token}"}, source


def test_each_message_is_answered_and_the_good_ones_reach_a_case(stages):
    client, auth, _ = _client(stages)
    batch = [
        {"id": "m1", "text": ANGRY, "channel": "social", "conversation_id": "t1", "customer_id": "c1",
         "timestamp": "2026-11-29T09:00:00+00:00"},
        {"id": "m2", "text": "   "},
        {"text": "no id here"},
        {"id": "m3", "text": "hello", "timestamp": "yesterday"},
    ]
    with client:
        response = client.post("/ingest", json=batch, headers=auth)
        assert response.status_code == 202, response.text
        report = response.json()
        assert report["accepted"] == 1 and report["rejected"] == 3
        statuses = {r["index"]: r for r in report["results"]}
        assert statuses[0]["status"] == "accepted" and statuses[0]["id"] == "m1"
        assert (statuses[1]["reason"], statuses[1]["field"]) == ("empty_text", "text")
        assert statuses[2]["field"] == "id" and statuses[2]["detail"]
        assert statuses[3]["field"] == "timestamp"
        deadline = time.monotonic() + 20
        while not stages.cases.list_cases() and time.monotonic() < deadline:
            time.sleep(0.05)
    cases = stages.cases.list_cases()
    assert len(cases) == 1 and stages.cases.get_case(cases[0].id).messages[0].message_id == "m1"
    assert stages.dead_letters.count() == 3


def test_a_full_queue_answers_503_and_keeps_nothing_of_the_batch(stages):
    client, auth, source = _client(stages, capacity=2, run_stream=False)
    first = client.post("/ingest", json=[{"id": "a", "text": ANGRY}, {"id": "b", "text": ANGRY}], headers=auth)
    assert first.status_code == 202
    full = client.post("/ingest", json=[{"id": "c", "text": ANGRY}], headers=auth)
    assert full.status_code == 503 and full.headers["Retry-After"] == "1"
    assert full.json()["results"][0]["status"] == "retry"
    source.ack(["a", "b"])  # the stream wrote them: room again
    again = client.post("/ingest", json=[{"id": "c", "text": ANGRY}], headers=auth)
    assert again.status_code == 202 and again.json()["accepted"] == 1, "a resend is not refused as a duplicate"


@pytest.mark.parametrize(("body", "status", "field"), [
    (b"not json", 400, "body"), (b'{"text": "an object, not a list"}', 400, "messages"), (b"[]", 400, "messages"),
])
def test_a_body_that_is_not_a_batch_is_refused_with_the_fix(stages, body, status, field):
    client, auth, _ = _client(stages, run_stream=False)
    response = client.post("/ingest", content=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == status and response.json()["error"]["field"] == field


def test_ingest_needs_a_token(stages):
    client, _, _ = _client(stages, run_stream=False)
    assert client.post("/ingest", json=[{"id": "x", "text": ANGRY}]).status_code == 401


class _Broken:
    def offer(self, envelopes):
        raise ConnectionError("the stream transport is down")


def test_a_failed_hand_off_lets_the_batch_be_sent_again(stages):
    ingest = Ingest(Validator(), stages.dead_letters, _Broken())
    with pytest.raises(ConnectionError):
        ingest.take([{"id": "k1", "text": ANGRY}])
    ingest.handoff = QueueSource(10)
    status, report = ingest.take([{"id": "k1", "text": ANGRY}])
    assert status == 202 and report.accepted == 1, "the resend is not refused as a duplicate"
