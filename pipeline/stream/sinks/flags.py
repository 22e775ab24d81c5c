"""Flags onto a Redis Stream, for contact-centre queues to consume, each flag once.

The stream worker is at-least-once: a batch redelivered after a crash publishes its flags again,
and two workers can hold the same batch while one claims the other's pending entries. So each
flag carries a stable id (the id of the message that raised it) and publishing is check-and-add
in one Lua script, which Redis runs atomically: `SET NX` on a dedupe key with a TTL, and `XADD`
only if that key was new. No interleaving of two workers can publish a flag twice, and a crash
cannot leave the key set without the entry (a script's writes land together or not at all).

The dedupe keys share the stream's hash slot (`{stream}:seen:<id>`), so the script also runs on
Redis Cluster. A flag redelivered after its key expired (`dedupe_ttl_s`, a week by default) is
published again; consumers reading the entry's `id` field can still drop it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType

import redis

from pipeline.schema import PRIVATE_FIELDS, Flag

log = logging.getLogger(__name__)

DEFAULT_STREAM = "earlywarn:flags"
BATCH = 500  # flags per script call: bounded so one call never holds Redis for long

# KEYS: the stream, then one dedupe key per flag. ARGV: ttl (ms), maxlen (0 = keep all), then
# id, payload, queue, priority for each flag in order. Returns how many entries were added.
_PUBLISH_ONCE = """
local ttl, maxlen = tonumber(ARGV[1]), tonumber(ARGV[2])
local added = 0
for i = 2, #KEYS do
  local at = 3 + (i - 2) * 4
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ttl) then
    if maxlen > 0 then
      redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*',
                 'id', ARGV[at], 'flag', ARGV[at + 1], 'queue', ARGV[at + 2], 'priority', ARGV[at + 3])
    else
      redis.call('XADD', KEYS[1], '*',
                 'id', ARGV[at], 'flag', ARGV[at + 1], 'queue', ARGV[at + 2], 'priority', ARGV[at + 3])
    end
    added = added + 1
  end
end
return added
"""


class FlagStreamSink:
    """Publishes `(flag_id, Flag)` pairs to a Redis Stream, each id at most once per `dedupe_ttl_s`.

    Each entry has fields `id` (the flag id), `flag` (the Flag as JSON), `queue` and `priority`
    (its name), so a consumer can filter without parsing. `maxlen` trims the stream to about that
    many entries (None keeps all); size it above what the slowest consumer group may lag by.
    """

    def __init__(self, url: str | redis.Redis = "redis://127.0.0.1:6379/0", stream: str = DEFAULT_STREAM,
                 maxlen: int | None = 100_000, dedupe_ttl_s: float = 7 * 24 * 3600) -> None:
        if not stream:
            raise ValueError("stream is empty: name the Redis Stream flags go to, e.g. earlywarn:flags")
        if maxlen is not None and maxlen < 1:
            raise ValueError(f"maxlen is {maxlen}: give at least 1, or None to keep every entry")
        if dedupe_ttl_s <= 0:
            raise ValueError(f"dedupe_ttl_s is {dedupe_ttl_s}: give how long a flag id is remembered, in seconds")
        self._owns_client = not isinstance(url, redis.Redis)
        self.client = url if isinstance(url, redis.Redis) else redis.Redis.from_url(
            url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30)
        self.stream = stream
        self.maxlen = maxlen
        self.dedupe_ttl_ms = int(dedupe_ttl_s * 1000)
        self._script = self.client.register_script(_PUBLISH_ONCE)

    def seen_key(self, flag_id: str) -> str:
        """The dedupe key of a flag id: in the stream's hash slot, so one script may touch both."""
        return f"{{{self.stream}}}:seen:{flag_id}"

    def publish(self, batch: Sequence[tuple[str, Flag]]) -> int:
        """Add each flag whose id was not published before; returns how many were added.

        Safe to call again with the same batch (after a crash, a redelivery, or by a racing worker):
        the flags already published are skipped. A Redis error propagates, so the caller does not
        acknowledge its source and the batch is retried.
        """
        for flag_id, _ in batch:
            if not flag_id:
                raise ValueError("a flag id is empty: pass the id of the message that raised the flag")
        added = 0
        for start in range(0, len(batch), BATCH):
            chunk = batch[start : start + BATCH]
            keys = [self.stream, *(self.seen_key(flag_id) for flag_id, _ in chunk)]
            args: list[str | int] = [self.dedupe_ttl_ms, self.maxlen or 0]
            for flag_id, flag in chunk:
                args += [flag_id, flag.model_dump_json(exclude=PRIVATE_FIELDS), flag.queue, flag.priority.name]
            added += int(self._script(keys=keys, args=args))
        if len(batch) > added:
            log.debug("flag stream %s: %d of %d flags were published before", self.stream, len(batch) - added,
                      len(batch))
        return added

    def close(self) -> None:
        """Release the connection, if this sink opened it (a client passed in stays open)."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> FlagStreamSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
