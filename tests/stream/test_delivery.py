"""At-least-once delivery from Redis into PostgreSQL: a worker killed with SIGKILL mid-batch, a second
worker in the group claiming its pending messages, and still no message lost, no case or event twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, select

from pipeline.cases.store import migrate
from pipeline.cases.tables import CaseMessageRow, CaseRow, EventRow
from pipeline.ingest.deadletter import dead_letters
from pipeline.ingest.sources.redis_streams import RedisStreamProducer
from pipeline.ingest.sources.replay import ReplaySource
from pipeline.ingest.validate import Rejection, Validator

MESSAGES = 1500
CLAIM_IDLE_MS = 1000
#: a worker's start-up: seconds, but one to two minutes on a 2-core machine when the regex cache is cold
START_UP_S = 300


def _worker(consumer: str, stream: str, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline.cli", "stream", "--source", f"redis:{stream}", "--model", "fast",
               "--max-batch", "32", "--no-live", "--until-idle"]
    return subprocess.Popen(command, env={**env, "EARLYWARN_REDIS_CONSUMER": consumer},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_worker_loses_nothing_and_its_successor_duplicates_nothing(
        database_url, redis_url, stream_key, stream_models: Path, settings, tmp_path):
    messages = list(ReplaySource(settings.data_dir, limit=MESSAGES).messages())
    producer = RedisStreamProducer(stream_key, url=redis_url)
    producer.publish([m.model_dump_json() for m in messages] + ['{"id": "broken", "text": '])
    producer.close()
    env = {**os.environ, "EARLYWARN_DATABASE_URL": database_url, "EARLYWARN_REDIS_URL": redis_url,
           "EARLYWARN_MODELS_DIR": str(stream_models), "EARLYWARN_REDIS_GROUP": "workers",
           "EARLYWARN_REDIS_CLAIM_IDLE_MS": str(CLAIM_IDLE_MS), "EARLYWARN_FLAGS_STREAM": f"{stream_key}:flags",
           "EARLYWARN_STREAM_STATE_PATH": str(tmp_path / "state.jsonl"),
           "EARLYWARN_ROUTING_FLAG_FROM": "low"}  # every message is filed, so "nothing lost" is checkable
    engine = create_engine(database_url)
    migrate(engine)  # as `earlywarn serve` does before any worker starts
    dead_letters.drop(engine, checkfirst=True)
    client = redis.Redis.from_url(redis_url)

    def filed() -> int:
        with engine.connect() as conn:
            return len(conn.execute(select(CaseMessageRow.message_id)).all())

    first = _worker("w1", stream_key, env)
    try:
        _wait_for(lambda: filed() > 20, START_UP_S, "the first worker to file some flags")
        pending = client.xpending(stream_key, "workers")["pending"]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert pending > 0, "the worker was killed with nothing in flight: the test proved nothing"
    assert client.xpending(stream_key, "workers")["pending"] > 0
    time.sleep(CLAIM_IDLE_MS / 1000 + 0.5)  # the dead worker's entries are now idle long enough to claim

    second = _worker("w2", stream_key, env)
    out, errors = second.communicate(timeout=START_UP_S + 300)
    assert second.returncode == 0, errors[-2000:]
    assert client.xpending(stream_key, "workers")["pending"] == 0, "every entry acknowledged"

    with engine.connect() as conn:
        filed_ids = Counter(conn.execute(select(CaseMessageRow.message_id)).scalars())
        conversations = Counter(conn.execute(select(CaseRow.conversation_id)).scalars())
        events = conn.execute(select(EventRow.case_id, EventRow.action, EventRow.after)).all()
        dead = conn.execute(select(dead_letters.c.message_id, dead_letters.c.reason)).all()
    assert max(filed_ids.values()) == 1, "a message filed twice"
    assert max(conversations.values()) == 1, "a conversation with two cases"
    in_events = Counter(m for _, action, after in events if action in ("create", "flag") for m in after["messages"])
    assert in_events == filed_ids, "every filed message recorded by exactly one event"
    check = Validator()
    valid = {m.id for m in messages if not isinstance(check.validate(m), Rejection)}
    refused = {m.id for m in messages} - valid
    assert set(filed_ids) == valid, "every valid message is on a case: none lost"
    assert {m for m, _ in dead} >= refused and any(r == "malformed_json" for _, r in dead)
    flags = client.xrange(f"{stream_key}:flags")
    flag_ids = Counter(fields[b"id"].decode() for _, fields in flags)
    assert flags and max(flag_ids.values()) == 1, "a flag announced twice"
    client.delete(f"{stream_key}:flags")
    dead_letters.drop(engine, checkfirst=True)
    engine.dispose()
