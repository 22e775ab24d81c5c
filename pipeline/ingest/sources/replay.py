"""The real Twitter customer-support threads, played back as a live stream in time order.

Two releases are merged: the twcs head (5,000 tweets with real timestamps and handles) and the
ASAPP airline threads (43,072 rows of twcs-derived customer-to-airline threads, with no times).
The airline threads are laid on a synthetic clock, marked `synthetic_timestamp` in metadata:
thread k starts `thread_spacing` after thread k-1 (from `AIRLINE_EPOCH`, the twcs head's busiest
hour), and its turns are `turn_gap` apart (640 s, the median reply gap measured in the twcs head).
An airline thread whose id is a tweet or thread of the twcs head is the same conversation, and is
played once, from twcs, with its real times.

Everything is lazy: the airline file is read row by row as the merged stream needs it, so a
replay limited to a few hundred messages starts in a fraction of a second.
"""

from __future__ import annotations

import bz2
import csv
import heapq
import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.datasets._io import require
from pipeline.datasets.airline_threads import AIRLINE_FILES, UNLABELLED_TAG, clean_turn, parse_turns
from pipeline.datasets.threads import Thread, ThreadMessage
from pipeline.datasets.twitter_threads import load_twcs_threads
from pipeline.errors import DatasetFormatError
from pipeline.ingest.sources.base import Envelope
from pipeline.schema import Author, Channel, Message

TWCS = "twcs"
AIRLINES = "airlines"
AIRLINE_EPOCH = datetime(2017, 10, 31, 22, 0, tzinfo=UTC)
_AIRLINE_COLUMNS = ("first_tweet_id", "tag", "first_utterance", "context")


class ReplaySource:
    """Real threads as `Message`s in non-decreasing timestamp order, `speedup` times faster than
    they happened (`inf`: as fast as they can be read), at most `limit` of them.

    A quiet stretch in the data (the twcs head opens with a tweet from 2011) never holds the
    replay up for more than `max_wait_s` of wall time.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        speedup: float = math.inf,
        limit: int | None = None,
        include: Sequence[str] = (TWCS, AIRLINES),
        max_wait_s: float = 5.0,
        thread_spacing: timedelta = timedelta(seconds=6),
        turn_gap: timedelta = timedelta(seconds=640),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        unknown = set(include) - {TWCS, AIRLINES}
        if unknown or not include:
            raise ValueError(f"include must name {TWCS} and/or {AIRLINES}, not {sorted(unknown) or 'nothing'}")
        if speedup <= 0:
            raise ValueError(f"speedup is {speedup}: it must be above 0 (inf replays as fast as possible)")
        if limit is not None and limit < 0:
            raise ValueError(f"limit is {limit}: give a count of messages, or None for all of them")
        self.data_dir = data_dir
        self.speedup = speedup
        self.limit = limit
        self.include = tuple(include)
        self.max_wait_s = max_wait_s
        self.thread_spacing = thread_spacing
        self.turn_gap = turn_gap
        self._clock = clock
        self._sleep = sleep
        self._stopped = False
        self.name = "replay"

    def messages(self) -> Iterator[Message]:
        """The merged stream, without pacing."""
        streams: list[Iterable[Message]] = []
        known_ids: set[str] = set()
        if TWCS in self.include:
            threads = load_twcs_threads(self.data_dir)
            known_ids = {thread.thread_id for thread in threads} | {t.message_id for th in threads for t in th}
            streams.append(_twcs_messages(threads))
        if AIRLINES in self.include:
            streams.append(_airline_messages(self.data_dir, known_ids, self.thread_spacing, self.turn_gap))
        merged = heapq.merge(*streams, key=lambda m: m.timestamp) if len(streams) > 1 else streams[0]
        return itertools.islice(merged, self.limit)

    def backlogged(self) -> bool:
        """At full speed the next message is always due; paced, it may not be yet."""
        return math.isinf(self.speedup)

    def batches(self, max_batch: int = 256) -> Iterator[list[Envelope]]:
        paced = not math.isinf(self.speedup)
        started = self._clock()
        due = 0.0  # wall seconds after the start at which the current message is due
        previous: datetime | None = None
        batch: list[Envelope] = []
        for message in self.messages():
            if self._stopped:
                break
            if paced:
                assert message.timestamp is not None  # both streams stamp every message
                if previous is not None:
                    gap = (message.timestamp - previous).total_seconds() / self.speedup
                    due += min(max(gap, 0.0), self.max_wait_s)
                previous = message.timestamp
                wait = due - (self._clock() - started)
                if wait > 0:
                    if batch:
                        yield batch
                        batch = []
                    self._sleep(wait)
            batch.append(Envelope(message, message.id, self.name))
            if len(batch) >= max_batch:
                yield batch
                batch = []
        if batch:
            yield batch

    def ack(self, delivery_ids: Sequence[str]) -> None:
        """Nothing to do: a replay is started again from the data, not redelivered."""

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._stopped = True


def _twcs_messages(threads: list[Thread]) -> Iterator[Message]:
    turns: list[tuple[datetime, int, ThreadMessage, str | None]] = []
    for thread in threads:
        customer = next((t.speaker for t in thread.turns if t.author is Author.customer), None)
        turns.extend((t.timestamp, int(t.message_id), t, customer) for t in thread.turns
                     if t.timestamp is not None and t.text.strip())
    turns.sort(key=lambda item: (item[0], item[1]))
    for _, _, turn, customer in turns:
        message = turn.to_message(Channel.social, source=TWCS)
        message.customer_id = customer
        yield message


def iter_airline_threads(data_dir: Path | None = None) -> Iterator[Thread]:
    """The raw airline threads row by row, deduplicated as `load_airline_threads` does (an exact
    repeat of a thread id is dropped, a repeat with other turns gets a `#2`, `#3` suffix)."""
    path = require(data_dir, AIRLINE_FILES["raw"], "airline Twitter threads (raw)")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _AIRLINE_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise DatasetFormatError(path, 1, f"missing columns {', '.join(missing)}")
        first_turns: dict[str, tuple[tuple[Author, str], ...]] = {}
        suffixes: dict[str, int] = {}
        for row in reader:
            thread_id = row["first_tweet_id"].strip()
            turns = tuple((author, clean_turn(body)) for author, body in
                          parse_turns(row["first_utterance"]) + parse_turns(row["context"]))
            if not thread_id or not turns:
                continue
            if thread_id in first_turns:
                if first_turns[thread_id] == turns:
                    continue
                suffixes[thread_id] = suffixes.get(thread_id, 1) + 1
                thread_id = f"{thread_id}#{suffixes[thread_id]}"
            else:
                first_turns[thread_id] = turns
            tag = row["tag"].strip()
            yield Thread(
                thread_id, AIRLINES,
                tuple(ThreadMessage(f"{thread_id}-{i}", thread_id, author, text)
                      for i, (author, text) in enumerate(turns)),
                None if tag in ("", UNLABELLED_TAG) else tag,
            )


def _airline_messages(data_dir: Path | None, known_ids: set[str], spacing: timedelta,
                      gap: timedelta) -> Iterator[Message]:
    """Airline turns on the synthetic clock, in time order: a thread's turns wait in a heap until
    the clock passes them, so only the threads in flight are held in memory."""
    pending: list[tuple[datetime, int, Message]] = []
    seq = itertools.count()
    started = 0
    for thread in iter_airline_threads(data_dir):
        if thread.thread_id.split("#")[0] in known_ids:
            continue
        start = AIRLINE_EPOCH + started * spacing
        started += 1
        while pending and pending[0][0] <= start:
            yield heapq.heappop(pending)[2]
        extra = {"tag": thread.tag} if thread.tag else {}
        for i, turn in enumerate(thread.turns):
            if not turn.text.strip():
                continue
            message = turn.to_message(Channel.social, source=AIRLINES, synthetic_timestamp=True, **extra)
            message.timestamp = start + i * gap
            heapq.heappush(pending, (message.timestamp, next(seq), message))
    while pending:
        yield heapq.heappop(pending)[2]
