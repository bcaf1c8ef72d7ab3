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
from sqlalchemy import Connection, Engine, inspect

__all__ = ["upgrade", "current_revision", "head_revision", "alembic_config", "BASELINE"]

log = logging.getLogger(__name__)

#: The revision that matches the schema made by ``create_all`` before migrations.
BASELINE = "0001"
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
    """Bring the database to ``revision``; a pre-migration database is stamped first."""
    with engine.begin() as connection:
        config = alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "lenders" in tables:
            log.info("registry made before migrations: stamping %s", BASELINE)
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
