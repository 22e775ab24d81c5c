"""`POST /ingest`: per-message answers, dead letters, backpressure, and the inline stream behind it."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from urllib.parse import urlsplit

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


def _client(stages, capacity: int = 1000, run_stream: bool = True, role: Role = Role.agent, handoff=None):
    source = QueueSource(capacity)
    ingest = Ingest(Validator(), stages.dead_letters, handoff or source)
    stream = InlineStream(StreamRunner(stages), source) if run_stream else None
    app = create_app(stages.cases, ingest=ingest, stream=stream)
    token = stages.cases.add_user(f"intake-{role.value}", role)
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


def test_only_roles_that_may_ingest_can_send_messages(stages):
    for role in (Role.analyst, Role.admin):
        client, auth, source = _client(stages, run_stream=False, role=role)
        refused = client.post("/ingest", json=[{"id": f"r-{role.value}", "text": ANGRY}], headers=auth)
        assert refused.status_code == 403 and refused.json()["error"]["field"] == "Authorization"
        assert f"role '{role.value}' may not send messages" in refused.json()["error"]["message"]
        assert "agent" in refused.json()["error"]["message"] and source.lag() == 0


def test_json_nested_too_deeply_is_refused_as_a_bad_body(stages):
    client, auth, _ = _client(stages, run_stream=False)
    response = client.post("/ingest", content=b"[" * 200_000, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["field"] == "body"
    assert "nested too deeply" in response.json()["error"]["message"]


class _CutProxy:
    """A TCP proxy to Redis that forwards the first `budget` bytes sent to it, then drops the connection and
    refuses any other: Redis lost part-way through a batch, with the client's retries failing too."""

    def __init__(self, upstream: str, budget: int) -> None:
        target = urlsplit(upstream)
        self.target, self.budget = (target.hostname, target.port or 6379), budget
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}{target.path}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        self.listener.close()
        server = socket.create_connection(self.target)
        threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()
        self._pump(client, server, self.budget)
        for end in (client, server):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, budget: int | None) -> None:
        with contextlib.suppress(OSError):
            while budget != 0 and (data := source.recv(65536)):
                data = data if budget is None else data[:budget]
                budget = None if budget is None else budget - len(data)
                sink.sendall(data)


def test_redis_lost_part_way_answers_503_keeps_nothing_and_a_resend_is_taken_once(stages, redis_url, stream_key):
    import redis

    from pipeline.api.ingest import RedisHandoff
    from pipeline.ingest.sources.redis_streams import RedisStreamProducer

    batch = [{"id": f"p{i}", "text": f"{ANGRY} ({i})"} for i in range(600)]  # more than one pipelined chunk
    proxy = _CutProxy(redis_url, budget=len(json.dumps(batch)) // 2)
    client, auth, _ = _client(stages, run_stream=False, handoff=RedisHandoff(RedisStreamProducer(stream_key,
                                                                                                 url=proxy.url)))
    lost = client.post("/ingest", json=batch, headers=auth)
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
    assert {r["status"] for r in lost.json()["results"]} == {"retry"}
    store = redis.Redis.from_url(redis_url)
    assert store.xlen(stream_key) == 0, "nothing of a refused batch is on the stream"
    client.app.state.ingest.handoff = RedisHandoff(RedisStreamProducer(stream_key, url=redis_url))
    again = client.post("/ingest", json=batch, headers=auth)
    assert again.status_code == 202 and again.json()["accepted"] == 600, "the resend is not refused as duplicates"
    assert store.xlen(stream_key) == 600
    store.close()


def test_redis_unreachable_answers_503_and_the_batch_can_be_sent_again(stages, redis_url, stream_key):
    from pipeline.api.ingest import RedisHandoff
    from pipeline.ingest.sources.redis_streams import RedisStreamProducer

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    ingest = Ingest(Validator(), stages.dead_letters, RedisHandoff(RedisStreamProducer(
        stream_key, url=f"redis://127.0.0.1:{port}/0")))
    status, report = ingest.take([{"id": "k1", "text": ANGRY}])
    assert status == 503 and report.results[0].status == "retry"
    ingest.handoff = RedisHandoff(RedisStreamProducer(stream_key, url=redis_url))
    status, report = ingest.take([{"id": "k1", "text": ANGRY}])
    assert status == 202 and report.accepted == 1, "the resend is not refused as a duplicate"
