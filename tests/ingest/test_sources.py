import io
import json
import time
from datetime import timedelta
from itertools import islice

import pytest
import redis

from pipeline.ingest.sources import (
    Envelope,
    FileSource,
    RedisStreamProducer,
    RedisStreamSource,
    ReplaySource,
    Source,
)
from pipeline.ingest.sources.replay import AIRLINE_EPOCH, iter_airline_threads
from pipeline.ingest.validate import IngestLimits, Reason, Rejection, Validator
from pipeline.schema import Author, Channel, Message


def _validate_all(envelopes: list[Envelope], validator: Validator | None = None) -> list[Message | Rejection]:
    validator = validator or Validator(IngestLimits(languages=()))
    return [validator.validate(e.payload, source=e.source, default_id=e.default_id) for e in envelopes]


def _flat(source: Source, max_batch: int = 256) -> list[Envelope]:
    return [e for batch in source.batches(max_batch) for e in batch]


# --- files -------------------------------------------------------------------------------------------


def test_every_jsonl_line_reaches_the_validator_and_bad_ones_become_rejections(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join([
        json.dumps({"id": "a", "text": "my parcel is late"}).encode(),
        b"",
        b"{not json",
        b'{"id": "c", "text": "caf\xe9 latte"}',  # Latin-1, not UTF-8
        json.dumps({"text": "no id on this line"}).encode(),
        json.dumps({"id": "e", "text": "windows line end"}).encode() + b"\r",
    ]) + b"\n")
    source = FileSource(path)
    envelopes = _flat(source, max_batch=2)
    assert [e.delivery_id for e in envelopes] == ["1", "3", "4", "5", "6"]
    assert {e.source for e in envelopes} == {f"file:{path}"}
    results = _validate_all(envelopes)
    assert [r.id if isinstance(r, Message) else r.reason for r in results] == [
        "a", Reason.malformed_json, Reason.invalid_encoding, "in.jsonl:5", "e"]
    source.ack(["1"])  # a no-op for files, but part of the protocol
    assert isinstance(source, Source)


def test_batches_are_bounded(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": "hi"}) + "\n" for i in range(7)), encoding="utf-8")
    assert [len(b) for b in FileSource(path).batches(max_batch=3)] == [3, 3, 1]


def test_csv_rows_with_quoted_newlines_empty_cells_and_broken_rows(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        "id,text,customer_id\n"
        '1,"first line\nsecond line",c1\n'
        "2,no customer,\n"
        "3,one,too,many\n"
        ",,\n"
        "4,last,c4\n",
        encoding="utf-8",
    )
    envelopes = _flat(FileSource(path))
    assert [e.delivery_id for e in envelopes] == ["2", "4", "5", "7"]
    results = _validate_all(envelopes)
    first, second, broken, last = results
    assert isinstance(first, Message) and first.text == "first line\nsecond line" and first.customer_id == "c1"
    assert isinstance(second, Message) and second.customer_id is None
    assert isinstance(broken, Rejection) and broken.reason == Reason.unreadable_record
    assert "line 5" in broken.detail and "quote cells" in broken.detail and broken.raw == "3,one,too,many\n"
    assert isinstance(last, Message) and last.id == "4"


def test_csv_row_that_the_reader_cannot_parse_is_unreadable_not_an_exception(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text('id,text\n1,"' + "x" * 200_000 + '"\n2,fine\n', encoding="utf-8")
    results = _validate_all(_flat(FileSource(path)))
    assert isinstance(results[0], Rejection) and results[0].reason == Reason.unreadable_record
    assert "not readable as CSV" in results[0].detail
    assert [r.id for r in results if isinstance(r, Message)] == ["2"]


def test_stdin_is_read_as_jsonl(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(b'{"id": "s1", "text": "from a pipe"}\n{broken\n'), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    source = FileSource("-")
    envelopes = _flat(source)
    assert source.name == "stdin" and [e.default_id for e in envelopes] == ["stdin:1", "stdin:2"]
    results = _validate_all(envelopes)
    assert isinstance(results[0], Message) and results[1].reason == Reason.malformed_json


# --- replay ------------------------------------------------------------------------------------------


def test_replay_yields_real_messages_in_time_order_from_both_releases():
    messages = [e.payload for e in _flat(ReplaySource(limit=3000))]
    assert len(messages) == 3000 and all(isinstance(m, Message) for m in messages)
    stamps = [m.timestamp for m in messages]
    assert all(t is not None and t.tzinfo is not None for t in stamps) and stamps == sorted(stamps)
    assert all(m.channel is Channel.social and m.conversation_id for m in messages)
    assert len({m.id for m in messages}) == 3000
    twcs = [m for m in messages if m.metadata["source"] == "twcs"]
    airlines = [m for m in messages if m.metadata["source"] == "airlines"]
    assert twcs and airlines
    assert {m.author for m in twcs} == {Author.customer, Author.agent}
    assert all(m.customer_id for m in twcs if m.author is Author.customer)
    # a customer's id stays on the company's replies in the same thread
    replies = [m for m in twcs if m.author is Author.agent and m.customer_id]
    assert replies and all(m.customer_id != m.metadata["speaker"] for m in replies)
    assert all(m.metadata["synthetic_timestamp"] and m.timestamp >= AIRLINE_EPOCH for m in airlines)


def test_the_whole_replay_plays_each_conversation_once():
    messages = list(ReplaySource().messages())
    assert len(messages) > 110_000
    assert len({m.id for m in messages}) == len(messages)
    stamps = [m.timestamp for m in messages]
    assert stamps == sorted(stamps)
    twcs_ids = {m.conversation_id for m in messages if m.metadata["source"] == "twcs"} | {
        m.id for m in messages if m.metadata["source"] == "twcs"}
    airline_threads = {m.conversation_id.split("#")[0] for m in messages if m.metadata["source"] == "airlines"}
    assert not twcs_ids & airline_threads  # the 89 airline threads that are twcs-head threads play from twcs


def test_the_airline_file_is_streamed_with_the_loaders_dedupe(airline_raw):
    streamed = list(islice(iter_airline_threads(), 5000))
    assert [(t.thread_id, t.turns) for t in streamed] == [(t.thread_id, t.turns) for t in airline_raw[:5000]]


@pytest.fixture(scope="module")
def airline_raw():
    from pipeline.datasets.airline_threads import load_airline_threads

    return load_airline_threads("raw")


class _Clock:
    """Test time: sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_replay_is_paced_by_the_speedup_and_long_gaps_are_capped():
    clock = _Clock()
    source = ReplaySource(speedup=600, limit=40, include=("twcs",), max_wait_s=2.0, clock=clock, sleep=clock.sleep)
    batches = list(source.batches())
    messages = [e.payload for b in batches for e in b]
    gaps = [(b.timestamp - a.timestamp).total_seconds() / 600 for a, b in zip(messages, messages[1:])]
    assert clock.now == pytest.approx(sum(min(g, 2.0) for g in gaps))
    assert gaps[0] > 2.0 and clock.sleeps[0] == pytest.approx(2.0)  # the 2011 tweet does not stall the replay
    assert len(batches) > 1  # what is due goes out before the source sleeps


def test_unpaced_replay_never_sleeps_and_stops_on_request():
    clock = _Clock()
    source = ReplaySource(limit=1000, clock=clock, sleep=clock.sleep)
    batches = source.batches(max_batch=100)
    next(batches)
    source.stop()
    assert list(batches) == [] and clock.sleeps == []


def test_replay_refuses_a_nonsense_configuration():
    with pytest.raises(ValueError, match="speedup"):
        ReplaySource(speedup=0)
    with pytest.raises(ValueError, match="include"):
        ReplaySource(include=("facebook",))


# --- Redis Streams -----------------------------------------------------------------------------------


def _messages(n: int, prefix: str = "r") -> list[Message]:
    return [Message(id=f"{prefix}{i}", text=f"my order {i} has not arrived") for i in range(n)]


def _source(redis_url: str, stream: str, consumer: str, **kw) -> RedisStreamSource:
    kw.setdefault("block_ms", 100)
    kw.setdefault("stop_when_idle", True)
    return RedisStreamSource(stream, url=redis_url, group="workers", consumer=consumer, **kw)


def test_publish_read_validate_ack(redis_url, stream_key):
    producer = RedisStreamProducer(stream_key, url=redis_url)
    ids = producer.publish(_messages(30) + [b"{not json", b'{"id": "x", "text": "\xff"}', {"id": "d", "text": "dict"}])
    assert len(ids) == 33
    source = _source(redis_url, stream_key, "w1")
    envelopes = _flat(source, max_batch=10)
    assert [e.delivery_id for e in envelopes] == ids
    results = _validate_all(envelopes)
    assert [r.id for r in results if isinstance(r, Message)] == [f"r{i}" for i in range(30)] + ["d"]
    assert [r.reason for r in results if isinstance(r, Rejection)] == [Reason.malformed_json, Reason.invalid_encoding]
    assert source.pending() == 33  # nothing is forgotten before the sink says so
    source.ack([e.delivery_id for e in envelopes])
    assert source.pending() == 0
    source.close()
    producer.close()


def test_a_killed_workers_entries_are_claimed_by_another_after_the_idle_time(redis_url, stream_key):
    RedisStreamProducer(stream_key, url=redis_url).publish(_messages(12))
    doomed = _source(redis_url, stream_key, "doomed", claim_idle_ms=60_000)
    taken = next(doomed.batches(max_batch=5))
    assert len(taken) == 5
    doomed.close()  # it dies holding five unacked entries

    survivor = _source(redis_url, stream_key, "survivor", claim_idle_ms=60_000)
    early = _flat(survivor)  # within the idle time: only the seven nobody had
    assert len(early) == 7
    survivor.ack([e.delivery_id for e in early])
    assert survivor.pending() == 5
    time.sleep(0.3)
    survivor = _source(redis_url, stream_key, "survivor", claim_idle_ms=200)  # restarted with a short idle time
    claimed = _flat(survivor)
    assert [e.delivery_id for e in claimed] == [e.delivery_id for e in taken]
    survivor.ack([e.delivery_id for e in claimed])
    assert survivor.pending() == 0
    survivor.close()


def test_a_restarted_worker_rereads_its_own_pending_entries_first(redis_url, stream_key):
    RedisStreamProducer(stream_key, url=redis_url).publish(_messages(4))
    first = _source(redis_url, stream_key, "w-stable")
    taken = next(first.batches(max_batch=3))
    first.close()
    again = _source(redis_url, stream_key, "w-stable")
    batches = list(again.batches(max_batch=10))
    assert [e.delivery_id for e in batches[0]] == [e.delivery_id for e in taken]
    assert sum(len(b) for b in batches) == 4
    again.close()


def test_a_live_source_yields_empty_batches_while_idle_and_ends_on_stop(redis_url, stream_key):
    source = _source(redis_url, stream_key, "idle", stop_when_idle=False, block_ms=50)
    batches = source.batches()
    assert next(batches) == [] and next(batches) == []
    source.stop()
    assert list(batches) == []
    source.close()


def test_group_creation_is_idempotent_and_entries_without_data_are_flat_records(redis_url, stream_key):
    client = redis.Redis.from_url(redis_url)
    client.xadd(stream_key, {"id": "flat", "text": "sent as fields"})
    client.close()
    one = _source(redis_url, stream_key, "a")
    two = _source(redis_url, stream_key, "b")
    one.ensure_group()
    two.ensure_group()
    [message] = _validate_all(_flat(one))
    assert isinstance(message, Message) and (message.id, message.text) == ("flat", "sent as fields")
    assert _flat(two) == []  # one group: each entry goes to one consumer
    one.close()
    two.close()


def test_producer_caps_the_stream_near_maxlen(redis_url, stream_key):
    producer = RedisStreamProducer(stream_key, url=redis_url, maxlen=100)
    producer.publish(_messages(2000), chunk=250)
    assert 100 <= producer.redis.xlen(stream_key) < 400
    producer.close()


def test_replay_into_redis_and_back_is_lossless(redis_url, stream_key):
    replayed = [e.payload for e in _flat(ReplaySource(limit=200, include=("twcs",)))]
    RedisStreamProducer(stream_key, url=redis_url).publish(replayed)
    back = _validate_all(_flat(_source(redis_url, stream_key, "w")))
    assert back == replayed


def test_time_deltas_in_replay_are_preserved_for_airlines():
    messages = [m for m in islice(ReplaySource(include=("airlines",)).messages(), 50)]
    by_thread: dict[str, list[Message]] = {}
    for m in messages:
        by_thread.setdefault(m.conversation_id, []).append(m)
    for turns in by_thread.values():
        for a, b in zip(turns, turns[1:]):
            assert b.timestamp - a.timestamp == timedelta(seconds=640)


def test_a_missing_file_is_named_with_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file.*- for stdin"):
        FileSource(tmp_path / "nope.jsonl")


# --- backlog: may the runner hold a full batch back for the next one? ----------------------------------


def test_only_sources_whose_next_batch_is_already_there_report_a_backlog(tmp_path, monkeypatch, redis_url, stream_key):
    from pipeline.ingest.sources.base import has_backlog
    from pipeline.ingest.sources.queue import QueueSource

    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "1", "text": "hi"}\n')
    assert has_backlog(FileSource(path))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert not has_backlog(FileSource("-"))  # a slow producer may keep the reader waiting
    assert has_backlog(ReplaySource(limit=1)) and not has_backlog(ReplaySource(limit=1, speedup=60))
    queued = QueueSource(10)
    assert not has_backlog(queued)
    queued.offer([Envelope(b'{"text": "hi"}', "d1", "http")])
    assert has_backlog(queued)
    live = _source(redis_url, stream_key, "backlog")
    live.ensure_group()
    assert not has_backlog(live)
    RedisStreamProducer(stream_key, url=redis_url).publish(['{"id": "b1", "text": "hi"}', '{"id": "b2", "text": "yo"}'])
    assert has_backlog(live)
    batches = live.batches(1)
    assert len(next(batches)) == 1 and has_backlog(live)  # one of two delivered: one still waits
    assert len(next(batches)) == 1 and not has_backlog(live)
    live.close()
    assert not has_backlog(object())  # a source that cannot tell has none


def test_an_entry_with_undecodable_field_names_is_dead_lettered_and_the_rest_flow(redis_url, stream_key,
                                                                                  tmp_path):
    from pipeline.ingest.deadletter import DeadLetterStore

    client = redis.Redis.from_url(redis_url)
    client.xadd(stream_key, {"text": "hi", b"\xffid": "1"})  # what `XADD ... text hi "\xffid" 1` sends
    client.close()
    RedisStreamProducer(stream_key, url=redis_url).publish(_messages(2))
    source = _source(redis_url, stream_key, "w")
    envelopes = _flat(source)
    bad, *good = _validate_all(envelopes)
    assert [m.id for m in good] == ["r0", "r1"]
    assert isinstance(bad, Rejection) and (bad.reason, bad.field) == (Reason.missing_field, "id")
    assert "\\udcffid" in bad.raw  # the undecodable byte, kept as an escape
    store = DeadLetterStore(f"sqlite:///{tmp_path / 'dead.db'}")
    assert store.add_many([bad]) == 1 and store.reasons() == {"missing_field": 1}
    store.close()
    source.ack([e.delivery_id for e in envelopes])
    assert source.pending() == 0  # nothing left for the next worker to claim and crash on
    source.close()
