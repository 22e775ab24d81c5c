"""The webhook sink against a real HTTP server on a free local port: retries, give-up, signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from pipeline.ingest.deadletter import DeadLetterStore
from pipeline.schema import Channel, Flag, Message, Priority, RiskLevel
from pipeline.stream.sinks.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSink,
    verify_signature,
)

SECRET = "test-signing-secret"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the server does: per path, how many first attempts (per idempotency key) fail and how."""

    url: str
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    most_in_flight: int = 0

    def attempts(self, path: str) -> Counter[str]:
        with self.lock:
            return Counter(r.headers[IDEMPOTENCY_HEADER] for r in self.requests if r.path == path)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path, _, arg = urlsplit(self.path).path.strip("/").partition("/")
            with receiver.lock:
                receiver.requests.append(Received(path, dict(self.headers.items()), body))
                key = self.headers.get(IDEMPOTENCY_HEADER, "")
                seen = sum(1 for r in receiver.requests if r.path == path and r.headers.get(IDEMPOTENCY_HEADER) == key)
            failing = seen <= int(arg or 0)
            try:
                if path == "ok" or (not failing and path in ("unavailable", "slow", "throttled")):
                    self._answer(200, b'{"ok": true}')
                elif path == "unavailable":
                    self._answer(503, b"try later")
                elif path == "throttled":
                    self._answer(429, b"slow down", {"Retry-After": "0"})
                elif path == "slow":
                    time.sleep(1.0)  # past the sink's timeout
                    self._answer(200, b"too late")
                elif path == "bad":
                    self._answer(400, b"flag schema not understood")
                elif path == "busy":
                    with receiver.lock:
                        receiver.in_flight += 1
                        receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                    time.sleep(0.05)
                    with receiver.lock:
                        receiver.in_flight -= 1
                    self._answer(200, b"done")
                elif path == "moved":
                    self._answer(301, b"", {"Location": "http://elsewhere.example/hook?token=secret"})
                elif path == "garbled":  # says gzip, sends something else: httpx cannot decode the answer
                    self._answer(200, b"this is not gzip", {"Content-Encoding": "gzip"})
                elif path == "hang":  # a receiver that takes the request and never answers in time
                    time.sleep(3.0)
                    self._answer(200, b"far too late")
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: None)  # replaced below, once the receiver exists
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def flag(n: int) -> tuple[str, Flag]:
    message = Message(id=f"m-{n}", text=f"message {n}: I was charged twice", channel=Channel.chat,
                      conversation_id=f"c-{n}")
    return message.id, Flag(conversation_id=f"c-{n}", channel=Channel.chat, risk_level=RiskLevel.complaint,
                            probability=0.9, queue="complaints", priority=Priority.high, next_action="Apologise.",
                            rule="complaint-made", messages=[message])


def sink(url: str, **options: object) -> WebhookSink:
    return WebhookSink(url, **{"timeout": 0.3, "max_attempts": 4, "backoff": 0.01, "max_backoff": 0.05, **options})


def test_flags_are_posted_as_json_with_an_idempotency_key(receiver):
    with sink(f"{receiver.url}/ok") as webhook:
        assert webhook.publish([flag(1), flag(2)]) == []
    by_key = {r.headers[IDEMPOTENCY_HEADER]: r for r in receiver.requests}
    assert set(by_key) == {"m-1", "m-2"}
    assert by_key["m-1"].headers["Content-Type"] == "application/json"
    assert Flag.model_validate(json.loads(by_key["m-1"].body)) == flag(1)[1]
    assert SIGNATURE_HEADER not in by_key["m-1"].headers  # no secret, no signature


def test_503s_are_retried_until_the_receiver_recovers(receiver):
    with sink(f"{receiver.url}/unavailable/2") as webhook:
        assert webhook.publish([flag(1), flag(2), flag(3)]) == []
    assert receiver.attempts("unavailable") == {"m-1": 3, "m-2": 3, "m-3": 3}  # two 503s, then 200


def test_429_is_retried(receiver):
    with sink(f"{receiver.url}/throttled/1") as webhook:
        assert webhook.publish([flag(1)]) == []
    assert receiver.attempts("throttled") == {"m-1": 2}


def test_a_timeout_is_retried(receiver):
    with sink(f"{receiver.url}/slow/1") as webhook:
        started = time.perf_counter()
        assert webhook.publish([flag(1)]) == []
        assert time.perf_counter() - started < 1.0  # the slow attempt was abandoned at the timeout
    assert receiver.attempts("slow") == {"m-1": 2}


def test_a_400_is_not_retried_and_comes_back_as_a_failure(receiver):
    with sink(f"{receiver.url}/bad") as webhook:
        failures = webhook.publish([flag(1), flag(2)])
    assert receiver.attempts("bad") == {"m-1": 1, "m-2": 1}
    assert [f.flag_id for f in failures] == ["m-1", "m-2"]
    assert failures[0].status == 400 and failures[0].attempts == 1
    assert "flag schema not understood" in failures[0].error and "will not change" in failures[0].error


def test_a_redirect_is_final_and_names_where_it_pointed_without_secrets(receiver):
    with sink(f"{receiver.url}/moved") as webhook:
        [failure] = webhook.publish([flag(1)])
    assert failure.status == 301 and "http://elsewhere.example/hook" in failure.error
    assert "token" not in failure.error


def test_it_gives_up_after_max_attempts_and_returns_the_failures(receiver):
    with sink(f"{receiver.url}/unavailable/10", max_attempts=3) as webhook:
        failures = webhook.publish([flag(1), flag(2)])
    assert receiver.attempts("unavailable") == {"m-1": 3, "m-2": 3}
    assert {(f.flag_id, f.status, f.attempts) for f in failures} == {("m-1", 503, 3), ("m-2", 503, 3)}
    assert failures[0].flag == flag(1)[1]


def test_connection_errors_are_retried_then_given_up(receiver):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with sink(f"http://127.0.0.1:{port}/hook", max_attempts=2) as webhook:
        [failure] = webhook.publish([flag(1)])
    assert failure.status is None and failure.attempts == 2 and "ConnectError" in failure.error


def test_a_failure_dead_letters_as_webhook_failed_and_replays_the_flag(receiver, tmp_path):
    with sink(f"{receiver.url}/bad?token=abc") as webhook:
        [failure] = webhook.publish([flag(7)])
    rejection = failure.rejection()
    assert "token" not in str(rejection) and "webhook_failed" in str(rejection)
    store = DeadLetterStore(f"sqlite:///{tmp_path / 'dead.db'}")
    try:
        store.add_many([rejection])
        [stored] = store.recent()
        assert (stored.reason, stored.message_id, stored.field) == ("webhook_failed", "m-7", "<flag>")
        assert "gave up after 1 attempt(s)" in stored.detail and f"{receiver.url}/bad" in stored.detail
        assert Flag.model_validate_json(stored.raw) == flag(7)[1]
        assert store.reasons() == {"webhook_failed": 1}
    finally:
        store.close()


def test_signed_requests_verify_and_tampering_does_not(receiver):
    with sink(f"{receiver.url}/ok", secret=SECRET) as webhook:
        assert webhook.publish([flag(1)]) == []
    [request] = receiver.requests
    timestamp, signature = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    assert abs(int(timestamp) - time.time()) < 60
    # what a receiver computes on its own, with nothing from earlywarn
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert signature == f"v1={expected}"
    assert verify_signature(SECRET, request.body, timestamp, signature)
    assert not verify_signature(SECRET, request.body.replace(b"charged", b"refunded"), timestamp, signature)
    assert not verify_signature("another-secret", request.body, timestamp, signature)
    assert not verify_signature(SECRET, request.body, timestamp, signature, now=int(timestamp) + 3600)  # replayed later


def test_each_retry_is_signed_afresh_with_the_same_idempotency_key(receiver):
    with sink(f"{receiver.url}/unavailable/1", secret=SECRET) as webhook:
        assert webhook.publish([flag(1)]) == []
    assert len(receiver.requests) == 2
    assert {r.headers[IDEMPOTENCY_HEADER] for r in receiver.requests} == {"m-1"}
    assert all(verify_signature(SECRET, r.body, r.headers[TIMESTAMP_HEADER], r.headers[SIGNATURE_HEADER])
               for r in receiver.requests)


def test_requests_run_concurrently_but_never_more_than_the_bound(receiver):
    with sink(f"{receiver.url}/busy", concurrency=3, timeout=2.0) as webhook:
        assert webhook.publish([flag(n) for n in range(12)]) == []
    assert len(receiver.requests) == 12
    assert 1 < receiver.most_in_flight <= 3


def test_bad_settings_say_what_to_give():
    with pytest.raises(ValueError, match="not an http"):
        WebhookSink("ftp://example.org/hook")
    with pytest.raises(ValueError, match="max_attempts"):
        WebhookSink("http://127.0.0.1/hook", max_attempts=0)
    with pytest.raises(ValueError, match="concurrency"):
        WebhookSink("http://127.0.0.1/hook", concurrency=0)
    with pytest.raises(ValueError, match="EARLYWARN_WEBHOOK_BUDGET_S"):
        WebhookSink("http://127.0.0.1/hook", budget=0)


def test_an_answer_that_cannot_be_decoded_is_a_failure_not_a_crash(receiver):
    with sink(f"{receiver.url}/garbled") as webhook:
        [failure] = webhook.publish([flag(1)])
    assert failure.flag_id == "m-1" and "DecodingError" in failure.error and failure.attempts == 1


def test_a_receiver_that_never_answers_costs_one_budget_per_publish_and_loses_nothing(receiver, tmp_path):
    batch = [flag(n) for n in range(8)]
    # without a budget: 4 attempts of 0.3 s for each of 8 flags, two at a time, is over 4.8 s
    with sink(f"{receiver.url}/hang", concurrency=2, budget=1.0) as webhook:
        started = time.perf_counter()
        failures = webhook.publish(batch)
        took = time.perf_counter() - started
    assert took < 2.0
    assert [f.flag_id for f in failures] == [flag_id for flag_id, _ in batch]  # every flag, in order
    assert sum(receiver.attempts("hang").values()) < 4 * len(batch)
    unsent = [f for f in failures if f.attempts == 0]
    assert unsent and all("ran out" in f.error and "no further attempt" in f.error for f in unsent)
    store = DeadLetterStore(f"sqlite:///{tmp_path / 'dead.db'}")
    try:
        assert store.add_many(f.rejection() for f in failures) == len(batch)
        assert store.reasons() == {"webhook_failed": len(batch)}
    finally:
        store.close()


def test_a_signature_header_that_is_not_ascii_is_just_wrong():
    assert not verify_signature(SECRET, b"{}", 1_700_000_000, "v1=caf\u00e9", now=1_700_000_000)
    assert not verify_signature(SECRET, b"{}", 1_700_000_000, "v1=\ud800", now=1_700_000_000)
    assert not verify_signature(SECRET, b"{}", 0, None, now=0)  # type: ignore[arg-type]
