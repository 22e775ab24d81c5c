"""Connecting to the case store and bringing its schema up to date (Alembic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from pipeline.cases import appends

MIGRATIONS = Path(__file__).with_name("migrations")


def json_text(value: Any) -> str:
    """The JSON columns' serializer. A stream batch writes thousands of score, reason and event bodies;
    orjson takes a fifth of the standard library's time (the text differs only in escaping: UTF-8
    stays UTF-8), and reads are unchanged."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def as_stored(value: Any) -> Any:
    """`value` as a JSON column gives it back: what is hashed must be what is kept (orjson writes NaN
    and infinity as null, for one)."""
    return orjson.loads(json_text(value))


def make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("json_serializer", json_text)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True,
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip per checkout; recycling retires connections a server may drop.
    return create_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800, hide_parameters=True, **kwargs)


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema; safe to call on every start."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that write their queued append-only rows (`pipeline.cases.appends`) before committing."""
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "before_commit", appends.write)
    return factory
