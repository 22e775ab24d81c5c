"""Messages handed over in process (the HTTP ingest endpoint), through a bounded queue.

The bound is the backpressure: when the stream falls behind, `offer` refuses instead of letting
memory grow, and the endpoint tells the caller to retry later. Nothing that was accepted is
dropped on a clean stop (the queue is drained first); what was refused was never accepted. A process
that is killed loses what it had queued, so where that matters the endpoint publishes to Redis
Streams instead (`EARLYWARN_INGEST_TRANSPORT=redis`) and stream workers consume from there.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence

from pipeline.ingest.sources.base import Envelope


class QueueSource:
    def __init__(self, capacity: int = 10_000, wait_s: float = 0.2, name: str = "http") -> None:
        if capacity < 1:
            raise ValueError(f"capacity is {capacity}: give how many messages may wait, at least 1")
        self.name = name
        self.capacity = capacity
        self.wait_s = wait_s
        self._queue: queue.Queue[Envelope] = queue.Queue()
        self._room = threading.Semaphore(capacity)
        self._offer_lock = threading.Lock()
        self._stopped = threading.Event()
        self._broken = threading.Event()

    def offer(self, envelopes: Sequence[Envelope]) -> bool:
        """Queue all of them, or none (False) when there is not room for all, or nobody is reading any more:
        a request is all-or-nothing."""
        if self._broken.is_set():
            return False
        with self._offer_lock:
            taken = 0
            while taken < len(envelopes) and self._room.acquire(blocking=False):
                taken += 1
            if taken < len(envelopes):
                for _ in range(taken):
                    self._room.release()
                return False
            for envelope in envelopes:
                self._queue.put(envelope)
        return True

    def lag(self) -> int:
        return self._queue.qsize()

    def backlogged(self) -> bool:
        return self._queue.qsize() > 0

    def batches(self, max_batch: int = 256) -> Iterator[list[Envelope]]:
        """Until stopped and drained: what was accepted before a stop is still processed."""
        while True:
            try:
                batch = [self._queue.get(timeout=self.wait_s)]
            except queue.Empty:
                if self._stopped.is_set():
                    return
                yield []
                continue
            while len(batch) < max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            yield batch

    def ack(self, delivery_ids: Sequence[str]) -> None:
        """Written downstream: their places in the queue are free again."""
        for _ in delivery_ids:
            self._room.release()

    def stop(self) -> None:
        self._stopped.set()

    def fail(self) -> None:
        """The reader died: refuse everything from now on, so callers retry elsewhere or later."""
        self._broken.set()

    def close(self) -> None:
        self._stopped.set()
