"""Opening the registry database: SQLite by default, PostgreSQL when shared."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from registry.migrate import upgrade

__all__ = ["Registry", "RegistryError", "as_utc", "default_sqlite_url", "iso_ms", "iso_z"]

log = logging.getLogger(__name__)


class RegistryError(Exception):
    """Bad registry input (a fleet file, a reference to nothing): the message says where."""


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC, a naive one taken as UTC already.

    SQLite hands back naive datetimes for ``DateTime(timezone=True)`` columns;
    every time we store is UTC.
    """
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_z(value: datetime, timespec: str = "milliseconds") -> str:
    """``value`` as ISO 8601 UTC with a Z, to the millisecond: every time the platform prints.

    One form for the API and the webhooks, so a lender's parser meets one
    shape; a naive ``value`` is taken as UTC, as ``as_utc`` does. Fleet files
    pass ``timespec="auto"``: what a person wrote comes back as written.

    >>> iso_z(datetime(2025, 11, 28, 12, 0, 0, 123456))
    '2025-11-28T12:00:00.123Z'
    >>> iso_z(datetime(2025, 11, 28, 12, 0, 0), timespec="auto")
    '2025-11-28T12:00:00Z'
    """
    return as_utc(value).isoformat(timespec=timespec).replace("+00:00", "Z")


@overload
def iso_ms(ms: int) -> str: ...
@overload
def iso_ms(ms: None) -> None: ...
def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ``iso_z`` prints them; no time (None) stays None.

    >>> iso_ms(1764331200000), iso_ms(None)
    ('2025-11-28T12:00:00.000Z', None)
    """
    return None if ms is None else iso_z(datetime.fromtimestamp(ms / 1000, UTC))


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'registry.db').resolve()}"


class Registry:
    """An engine and a session factory; the schema is migrated to the newest revision on open."""

    def __init__(self, url: str, create: bool = True) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while ingest and monitor write; busy_timeout makes
    # writers from several threads or processes wait instead of failing.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _set_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _set_wal(cursor: Any, attempts: int = 200) -> None:
    # Switching to WAL needs a moment alone with the file, and SQLite answers
    # "locked" at once (no busy wait) while another connection migrates it.
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
