"""Rows the case store only ever adds (events, case messages, vulnerability markers, conversation
links), written with one executemany INSERT per table instead of one ORM object each.

A stream batch files hundreds of these per transaction. As ORM objects each costs instance state,
attribute events and a RETURNING of an id nobody reads (about 0.2 ms, as much as scoring the
message); as plain rows they are one statement per table. `write` runs them after the ORM's own
flush, so the cases they point at exist first; the session factory also runs it before every
commit, so a row appended is never left behind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from pipeline.cases.tables import Base

_PENDING = "earlywarn.appends"


def append(s: Session, table: type[Base], **values: Any) -> None:
    """Queue one row for `table`; every row of a table must name the same columns."""
    s.info.setdefault(_PENDING, {}).setdefault(table, []).append(values)


def write(s: Session) -> None:
    """Flush the ORM's changes (new cases get their ids), then insert the queued rows."""
    s.flush()
    pending: dict[type[Base], list[dict[str, Any]]] = s.info.pop(_PENDING, {})
    for table, rows in pending.items():
        s.execute(insert(table), rows)
