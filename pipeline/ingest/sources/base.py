"""What every source hands the pipeline: batches of envelopes, and a way to say they were handled.

A source never validates: it delivers each payload exactly as received (bytes, a text line, a CSV
row, a built `Message`) so that the `Validator` turns bad input into a `Rejection` the dead-letter
store keeps, instead of an exception somewhere in a reader. `ack` is how a source learns that
the caller's sink has written a batch; a source that can redeliver (Redis Streams) forgets an
entry only then, which is what makes delivery at-least-once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pipeline.ingest.validate import Payload


@dataclass(frozen=True, slots=True)
class Envelope:
    """One delivery: the payload as received, the source's handle for acking it, and where it came from.

    `default_id` is the id a record without one should get (file and line), None where an id is
    required. Pass all three on: `validator.validate(e.payload, source=e.source, default_id=e.default_id)`.
    `ingested_at` is when the record entered the system (epoch seconds), where the source knows it
    better than the moment it was read (a Redis entry's own time); latency is measured from it.
    """

    payload: Payload
    delivery_id: str
    source: str
    default_id: str | None = None
    ingested_at: float | None = None


@runtime_checkable
class Source(Protocol):
    """Batches of envelopes in delivery order.

    A finite source (a file, a replay) ends its iteration when it runs out. A live source (a
    stream) yields an empty batch whenever nothing arrived within its wait, so the caller can still
    flush on time, and ends only after `stop()`.
    """

    name: str

    def batches(self, max_batch: int = 256) -> Iterator[list[Envelope]]: ...

    def ack(self, delivery_ids: Sequence[str]) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def has_backlog(source: Source) -> bool:
    """Whether the source can hand over its next batch without waiting for new input (a file on disk,
    a replay at full speed, a queue or stream with entries waiting). Only then is a batch worth
    holding back to overlap with the next; a source that cannot tell (`backlogged` absent) has none."""
    backlogged = getattr(source, "backlogged", None)
    return bool(backlogged()) if callable(backlogged) else False
