"""The Alembic migrations build exactly the schema the tables declare, and undo cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from pipeline.cases.store import make_engine, migrate
from pipeline.cases.tables import Base


def test_migrated_schema_matches_the_tables(case_service):
    with case_service.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrating_twice_is_harmless_and_downgrade_removes_everything(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    migrate(engine)
    assert {"cases", "case_events", "users", "options"} <= set(inspect(engine).get_table_names())
    migrate_down(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def migrate_down(engine) -> None:
    from alembic import command

    from pipeline.cases.store import alembic_config

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
