"""Schema migrations (Alembic): the registry is always brought to the newest revision.

Revisions live in ``registry/migrations/versions``; ``0001`` is the schema the
platform shipped with before migrations, so a database made by that version is
stamped and upgraded, never recreated.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

__all__ = ["upgrade", "current_revision", "head_revision", "alembic_config", "BASELINE"]

log = logging.getLogger(__name__)

#: The revision that matches the schema made by ``create_all`` before migrations.
BASELINE = "0001"
#: PostgreSQL advisory lock held while migrating: services starting together on one
#: database take turns instead of creating the same tables twice.
_PG_LOCK_KEY = 0x63775F72  # "cw_r"
_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; a pre-migration database is stamped first.

    One process at a time: several services may open a fresh database together.
    """
    if engine.dialect.name == "sqlite":
        _upgrade_sqlite(engine, revision)
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        _migrate(connection, revision)


def _upgrade_sqlite(engine: Engine, revision: str) -> None:
    # pysqlite opens transactions lazily and never for DDL; BEGIN IMMEDIATE takes the
    # database's write lock first, so a second opener waits (busy_timeout) and then
    # finds the work done.
    with engine.connect() as raw:
        connection = raw.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            _migrate(connection, revision)
        except BaseException:
            connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")


def _migrate(connection: Connection, revision: str) -> None:
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "lenders" in tables:
        log.info("registry made before migrations: stamping %s", BASELINE)
        command.stamp(config, BASELINE)
    command.upgrade(config, revision)
