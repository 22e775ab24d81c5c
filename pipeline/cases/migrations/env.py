"""Alembic environment: migrations run on the connection the store hands over (or a URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from pipeline.cases.tables import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001, ARG001 - Alembic's hook
    """Only the tracker's own tables: the dead-letter table may share the database but is not ours."""
    return not (type_ == "table" and reflected and compare_to is None and name not in target_metadata.tables)


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if context.is_offline_mode():
            context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                              include_object=include_object)
            with context.begin_transaction():
                context.run_migrations()
            return
        with create_engine(url).connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                              include_object=include_object)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


run()
