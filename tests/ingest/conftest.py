"""The dead-letter store on SQLite and on the real PostgreSQL (via the suite's `postgres_url`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def dead_letter_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file, or the session's PostgreSQL database with the table dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dead_letters.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    from sqlalchemy import create_engine

    from pipeline.ingest.deadletter import metadata

    engine = create_engine(url)
    metadata.drop_all(engine, checkfirst=True)
    engine.dispose()
