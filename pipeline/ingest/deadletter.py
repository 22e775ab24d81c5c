"""Where refused records go: a durable table, so nothing a source sent is lost and any of it can be
fixed and replayed.

The table is the ingest layer's own (its own `MetaData`, created with `checkfirst`), not one of the
case tracker's migrated tables: the dead letters can live beside the cases in the same database or
in a file of their own. The payload is stored as received; only what is *logged* is redacted.
PostgreSQL text cannot hold NUL, so NUL characters are stored as the escape `\\x00`, the same
spelling `Rejection.raw` already uses for undecodable bytes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)

from pipeline.ingest.pii import redact
from pipeline.ingest.validate import Reason, Rejection

log = logging.getLogger(__name__)

metadata = MetaData()
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("source", String(200), nullable=False),
    Column("reason", String(40), nullable=False, index=True),
    Column("field", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("message_id", String(128), nullable=True, index=True),
)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One stored rejection, as read back."""

    id: int
    received_at: datetime
    source: str
    reason: str
    field: str
    detail: str
    raw: str
    message_id: str | None


def make_engine(url: str) -> Engine:
    """SQLite waits for a busy writer and lets readers run beside it (WAL); servers pool connections."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_size=2, max_overflow=4, pool_recycle=1800, hide_parameters=True)


def _storable(text: str, limit: int | None = None) -> str:
    text = text.replace("\x00", "\\x00")
    # lone surrogates cannot be encoded for any database; Rejection.raw has escaped them already
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:limit] if limit is not None else text


def _row(rejection: Rejection) -> dict[str, Any]:
    return {
        "received_at": rejection.received_at.astimezone(UTC),
        "source": _storable(rejection.source, 200),
        "reason": rejection.reason.value if isinstance(rejection.reason, Reason) else str(rejection.reason),
        "field": _storable(rejection.field, 200),
        "detail": _storable(rejection.detail),
        "raw": _storable(rejection.raw),
        "message_id": _storable(rejection.message_id, 128) if rejection.message_id is not None else None,
    }


class DeadLetterStore:
    """Durable rejections on any SQLAlchemy URL (a SQLite file by default, PostgreSQL in production)."""

    def __init__(self, url: str | Engine = "sqlite:///dead_letters.db") -> None:
        self._owns_engine = isinstance(url, str)
        self.engine = make_engine(url) if isinstance(url, str) else url
        metadata.create_all(self.engine, checkfirst=True)

    def add(self, rejection: Rejection) -> int:
        """Store one rejection; returns its row id."""
        with self.engine.begin() as conn:
            result = conn.execute(insert(dead_letters).values(**_row(rejection)))
        self._log([rejection])
        return int(result.inserted_primary_key[0])

    def add_many(self, rejections: Iterable[Rejection]) -> int:
        """Store a batch in one transaction (all or none); returns how many were stored."""
        rows = [_row(r) for r in rejections]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            conn.execute(insert(dead_letters), rows)
        self._log_rows(rows)
        return len(rows)

    def count(self, reason: Reason | str | None = None) -> int:
        query = select(func.count()).select_from(dead_letters)
        if reason is not None:
            query = query.where(dead_letters.c.reason == _reason(reason))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def recent(self, limit: int = 50, reason: Reason | str | None = None) -> list[DeadLetter]:
        """The newest rejections first (by arrival, then insertion)."""
        newest = (dead_letters.c.received_at.desc(), dead_letters.c.id.desc())
        query = select(dead_letters).order_by(*newest).limit(limit)
        if reason is not None:
            query = query.where(dead_letters.c.reason == _reason(reason))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [DeadLetter(**{**row, "received_at": _aware(row["received_at"])}) for row in rows]

    def reasons(self) -> dict[str, int]:
        """How many rejections there are of each reason, most frequent first."""
        query = select(dead_letters.c.reason, func.count()).group_by(dead_letters.c.reason)
        with self.engine.connect() as conn:
            counts = {reason: int(n) for reason, n in conn.execute(query)}
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def close(self) -> None:
        """Release the connections, if this store opened them (an engine passed in stays open)."""
        if self._owns_engine:
            self.engine.dispose()

    @staticmethod
    def _log(rejections: list[Rejection]) -> None:
        for rejection in rejections:
            log.info("dead letter: %s", rejection)  # Rejection.__str__ redacts and leaves the payload out

    @staticmethod
    def _log_rows(rows: list[dict[str, Any]]) -> None:
        by_reason = Counter(row["reason"] for row in rows)
        summary = ", ".join(f"{reason} × {n}" for reason, n in by_reason.most_common())
        log.info("dead letters stored: %d (%s)", len(rows), redact(summary))


def _reason(reason: Reason | str) -> str:
    return reason.value if isinstance(reason, Reason) else str(reason)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive text; everything stored was UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
