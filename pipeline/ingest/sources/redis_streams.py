"""Redis Streams with a consumer group: several workers share one stream, and none loses a message.

Each worker reads new entries with `XREADGROUP`; an entry stays in the group's pending list until
the worker acks it, which the caller does only after its sink has written the batch
(at-least-once). A worker that dies leaves its entries pending: on start, and every
`claim_every_s`, each worker takes over (`XAUTOCLAIM`) entries idle for longer than
`claim_idle_ms`, so a second worker finishes what a killed one started. A worker restarted under
the same consumer name first re-reads its own pending entries.

An entry's payload is its `data` field (the JSON message, passed on as bytes so the validator
sees exactly what was sent); an entry without one is read as a flat record of its fields, names and
values decoded leniently (undecodable bytes as lone surrogates, which the validator refuses). An entry
that cannot be made into a payload at all is handed on as `Unreadable`: it is dead-lettered and acked
like any bad record, never left to stall the group by crashing every worker that claims it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import redis

from pipeline.ingest.pii import redact
from pipeline.ingest.sources.base import Envelope
from pipeline.ingest.validate import Unreadable
from pipeline.schema import Message

log = logging.getLogger(__name__)

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_STREAM = "earlywarn:messages"
DEFAULT_GROUP = "earlywarn"
DATA_FIELD = b"data"
Record = Message | Mapping[str, Any] | str | bytes


def _client(url: str | redis.Redis, block_ms: int = 0) -> redis.Redis:
    if isinstance(url, redis.Redis):
        return url
    # a blocking read must not trip the socket timeout
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=block_ms / 1000 + 10,
                                health_check_interval=30)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _lenient(value: bytes | str) -> str:
    """Entry field names and values as sent: bytes that are not UTF-8 become lone surrogates."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


class RedisStreamSource:
    """Entries of one stream, read as `consumer` in consumer `group` (created if missing, reading
    from `start_id`: "0" takes entries published before the group existed, "$" only newer ones).

    Give each worker its own stable `consumer` name where it can be restarted under it; the
    default (host and process id) is unique but changes with every start, which leaves the
    pending entries to the claim.
    """

    def __init__(
        self,
        stream: str = DEFAULT_STREAM,
        *,
        url: str | redis.Redis = DEFAULT_URL,
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
        claim_every_s: float = 30.0,
        start_id: str = "0",
        stop_when_idle: bool = False,
    ) -> None:
        if block_ms < 1:
            raise ValueError(f"block_ms is {block_ms}: give a wait of at least 1 ms "
                             f"(0 would make Redis block forever)")
        self.stream = stream
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.claim_every_s = claim_every_s
        self.start_id = start_id
        self.stop_when_idle = stop_when_idle
        self.redis = _client(url, block_ms)
        self._owns_client = not isinstance(url, redis.Redis)
        self.name = f"redis:{stream}"
        self._stopped = False
        self._group_ready = False

    # --- the Source protocol ------------------------------------------------------------------------

    def batches(self, max_batch: int = 256) -> Iterator[list[Envelope]]:
        """Own pending entries first, then claimed ones, then new ones; an empty batch after each
        read that waited `block_ms` for nothing (or the end, with `stop_when_idle`)."""
        self.ensure_group()
        yield from self._own_pending(max_batch)
        next_claim = 0.0
        while not self._stopped:
            if time.monotonic() >= next_claim:
                yield from self._claim(max_batch)
                next_claim = time.monotonic() + self.claim_every_s
                if self._stopped:
                    break
            batch, _ = self._read(">", max_batch, block=self.block_ms)
            if not batch and self.stop_when_idle:
                return
            yield batch

    def ack(self, delivery_ids: Sequence[str]) -> None:
        """Forget entries for good: call only once the sink has written them."""
        for start in range(0, len(delivery_ids), 1000):
            self.redis.xack(self.stream, self.group, *delivery_ids[start:start + 1000])

    def stop(self) -> None:
        """End `batches` after the batch in hand (safe to call from a signal handler)."""
        self._stopped = True

    def close(self) -> None:
        """Stop, and drop the connection if this source opened it."""
        self._stopped = True
        if self._owns_client:
            self.redis.close()

    # --- group management -------------------------------------------------------------------------------

    def ensure_group(self) -> None:
        """Create the stream and the group if either is missing; harmless when both exist."""
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.stream, self.group, id=self.start_id, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def pending(self) -> int:
        """Entries delivered to some consumer of the group and not acked yet."""
        return int(self.redis.xpending(self.stream, self.group)["pending"])

    def backlogged(self) -> bool:
        """Entries in the stream not yet delivered to the group (the group's `lag`, Redis 7+; a server
        that cannot tell counts as none, so no batch is held waiting on it)."""
        for group in self.redis.xinfo_groups(self.stream):
            if _text(group["name"]) == self.group:
                return bool(group.get("lag"))
        return False

    # --- reading ------------------------------------------------------------------------------------------

    def _read(self, start: str, count: int, block: int | None = None) -> tuple[list[Envelope], str | None]:
        """Envelopes read from `start`, and the last entry id seen (None when there was nothing)."""
        reply = self.redis.xreadgroup(self.group, self.consumer, {self.stream: start}, count=count, block=block)
        if not reply:
            return [], None
        _, entries = reply[0]
        gone = [entry_id for entry_id, fields in entries if fields is None]
        if gone:  # trimmed from the stream while pending: nothing left to process, so stop tracking them
            log.warning("%s: %d pending entries were trimmed from the stream before anyone acked them",
                        self.name, len(gone))
            self.redis.xack(self.stream, self.group, *gone)
        envelopes = [self._envelope(entry_id, fields) for entry_id, fields in entries if fields is not None]
        return envelopes, _text(entries[-1][0]) if entries else None

    def _own_pending(self, max_batch: int) -> Iterator[list[Envelope]]:
        """What this consumer name was given before a restart and never acked."""
        last = "0"
        while not self._stopped:
            batch, last_seen = self._read(last, max_batch)
            if last_seen is None:
                return
            last = last_seen
            if batch:
                yield batch

    def _claim(self, max_batch: int) -> Iterator[list[Envelope]]:
        cursor: bytes | str = "0-0"
        while not self._stopped:
            next_cursor, entries, *rest = self.redis.xautoclaim(
                self.stream, self.group, self.consumer, self.claim_idle_ms, start_id=cursor, count=max_batch)
            deleted = rest[0] if rest else []
            if deleted:
                log.warning("%s: %d pending entries were trimmed from the stream before anyone acked them",
                            self.name, len(deleted))
            batch = [self._envelope(entry_id, fields) for entry_id, fields in entries if fields]
            if batch:
                log.info("%s: %s claimed %d entries idle for over %d ms", self.name, self.consumer,
                         len(batch), self.claim_idle_ms)
                yield batch
            if _text(next_cursor) == "0-0":
                return
            cursor = next_cursor

    def _envelope(self, entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> Envelope:
        entry = _lenient(entry_id)
        payload: bytes | dict[str, str] | Unreadable
        try:
            if DATA_FIELD in fields:
                payload = fields[DATA_FIELD]
            else:
                payload = {_lenient(k): _lenient(v) for k, v in fields.items()}
        except Exception as exc:  # noqa: BLE001 - one odd entry must not stop the group
            detail = (f"entry {entry} could not be read as a record ({type(exc).__name__}): "
                      f"publish the message as JSON in the entry's 'data' field")
            payload = Unreadable(detail, _raw_fields(fields))
        millis = entry.partition("-")[0]  # Redis stamps each entry with the millisecond it was added
        stamped = millis.isascii() and millis.isdigit()
        return Envelope(payload, entry, self.name, ingested_at=int(millis) / 1000 if stamped else None)


class RedisStreamProducer:
    """Writes messages onto a stream (tests, the demo, the benchmark): pipelined `XADD`s, optionally
    capping the stream near `maxlen` entries so a long demo cannot fill Redis."""

    def __init__(self, stream: str = DEFAULT_STREAM, *, url: str | redis.Redis = DEFAULT_URL,
                 maxlen: int | None = None) -> None:
        self.stream = stream
        self.maxlen = maxlen
        self.redis = _client(url)
        self._owns_client = not isinstance(url, redis.Redis)

    def publish(self, records: Iterable[Record], chunk: int = 500, *, atomic: bool = False) -> list[str]:
        """Append each record as one entry (`data` = its JSON, or the str/bytes as given); entry ids in order.

        `atomic` sends them all in one MULTI/EXEC, so a failure leaves none of them on the stream (what
        `POST /ingest` promises a caller told to resend); otherwise in pipelined chunks, which an error
        can leave half published.
        """
        ids: list[str] = []
        pipe = self.redis.pipeline(transaction=atomic)
        queued = 0
        for record in records:
            pipe.xadd(self.stream, {DATA_FIELD: _encode(record)}, maxlen=self.maxlen, approximate=True)
            queued += 1
            if queued >= chunk and not atomic:
                ids.extend(_text(i) for i in pipe.execute())
                queued = 0
        if queued:
            ids.extend(_text(i) for i in pipe.execute())
        log.debug("%s: published %d entries", redact(self.stream), len(ids))
        return ids

    def close(self) -> None:
        if self._owns_client:
            self.redis.close()


def _raw_fields(fields: Mapping[Any, Any]) -> str:
    """An unreadable entry as storable text (bytes as escapes), for the dead letters."""
    try:
        return repr(dict(fields))
    except Exception:  # noqa: BLE001 - only ever a description of what could not be read
        return f"<unreadable {type(fields).__name__}>"


def _encode(record: Record) -> bytes | str:
    if isinstance(record, Message):
        return record.model_dump_json()
    if isinstance(record, Mapping):
        return json.dumps(record, default=str)  # ASCII escapes keep even lone surrogates sendable
    return record
