"""Alembic environment: migrations run on the connection ``registry.migrate`` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from registry.models import Base


def _run(connection: Connection) -> None:
    # Batch mode lets SQLite alter tables (it copies them); PostgreSQL alters in place.
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


_run(context.config.attributes["connection"])
