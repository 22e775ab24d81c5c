"""Flags onto a real Redis Stream: each flag id once, whether re-sent after a crash or raced by two workers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import redis

from pipeline.schema import Channel, Flag, Message, Priority, RiskLevel
from pipeline.stream.sinks.flags import FlagStreamSink


def flag(n: int, queue: str = "complaints") -> tuple[str, Flag]:
    message = Message(id=f"m-{n}", text=f"message {n}: still waiting on my refund", channel=Channel.social,
                      conversation_id=f"c-{n}")
    return message.id, Flag(conversation_id=f"c-{n}", channel=Channel.social, risk_level=RiskLevel.high,
                            probability=0.7, queue=queue, priority=Priority.high, next_action="Offer a DM.",
                            rule="public-social-post", messages=[message])


@pytest.fixture
def client(redis_url: str, stream_key: str) -> Iterator[redis.Redis]:
    """A client on the test's stream; the dedupe keys the sink left are removed afterwards."""
    connection = redis.Redis.from_url(redis_url)
    yield connection
    seen = list(connection.scan_iter(match=f"{{{stream_key}}}:seen:*", count=1000))
    if seen:
        connection.delete(*seen)
    connection.close()


def test_each_flag_becomes_one_entry_with_its_json_and_routing_fields(redis_url, stream_key, client):
    with FlagStreamSink(redis_url, stream=stream_key) as sink:
        assert sink.publish([flag(1), flag(2, queue="retention")]) == 2
    entries = client.xrange(stream_key)
    assert [e[b"id"] for _, e in entries] == [b"m-1", b"m-2"]
    fields = entries[1][1]
    assert (fields[b"queue"], fields[b"priority"]) == (b"retention", b"high")
    assert Flag.model_validate(json.loads(fields[b"flag"])) == flag(2, queue="retention")[1]


def test_publishing_the_same_flags_again_adds_nothing(redis_url, stream_key, client):
    batch = [flag(n) for n in range(5)]
    with FlagStreamSink(redis_url, stream=stream_key) as sink:
        assert sink.publish(batch) == 5
        assert sink.publish(batch) == 0  # a redelivered batch
        assert sink.publish([flag(3), flag(5)]) == 1  # a batch overlapping the first
    with FlagStreamSink(redis_url, stream=stream_key) as restarted:  # a worker after a crash
        assert restarted.publish(batch) == 0
    ids = [e[b"id"] for _, e in client.xrange(stream_key)]
    assert ids == [f"m-{n}".encode() for n in range(6)]


def test_a_flag_repeated_within_one_batch_is_published_once(redis_url, stream_key, client):
    with FlagStreamSink(redis_url, stream=stream_key) as sink:
        assert sink.publish([flag(1), flag(1), flag(2)]) == 2
    assert client.xlen(stream_key) == 2


def test_two_workers_racing_publish_each_flag_once(redis_url, stream_key, client):
    batch = [flag(n) for n in range(300)]
    start = threading.Barrier(2)
    added: list[int] = []

    def worker() -> None:
        with FlagStreamSink(redis_url, stream=stream_key) as sink:
            start.wait()
            added.append(sum(sink.publish(batch[i : i + 10]) for i in range(0, len(batch), 10)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(added) == 300
    ids = [e[b"id"] for _, e in client.xrange(stream_key)]
    assert len(ids) == 300 and len(set(ids)) == 300


def test_dedupe_keys_share_the_stream_slot_and_expire(redis_url, stream_key, client):
    with FlagStreamSink(redis_url, stream=stream_key, dedupe_ttl_s=60) as sink:
        sink.publish([flag(1)])
        key = sink.seen_key("m-1")
    assert key.startswith(f"{{{stream_key}}}:")  # the hash tag is the stream's own name
    assert 0 < client.pttl(key) <= 60_000


def test_the_stream_is_trimmed_to_about_maxlen(redis_url, stream_key, client):
    with FlagStreamSink(redis_url, stream=stream_key, maxlen=10) as sink:
        assert sink.publish([flag(n) for n in range(1200)]) == 1200
    assert 10 <= client.xlen(stream_key) < 1200  # MAXLEN ~ trims whole nodes, so "about"


def test_bad_arguments_say_what_to_give(redis_url):
    with pytest.raises(ValueError, match="maxlen"):
        FlagStreamSink(redis_url, maxlen=0)
    with pytest.raises(ValueError, match="stream is empty"):
        FlagStreamSink(redis_url, stream="")
    with FlagStreamSink(redis_url, stream="earlywarn-test:unused") as sink, \
            pytest.raises(ValueError, match="flag id is empty"):
        sink.publish([("", flag(1)[1])])
