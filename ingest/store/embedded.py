"""The embedded store: telemetry in one local SQLite file, for a single machine.

One row per (asset_id, ts_ms, device_id) and one column per wire field, so a
downsampled query is a SQL ``AVG`` per bucket (booleans are stored as 0/1, so
their ``AVG`` is the fraction of true values). Rewriting a key updates the
fields the new point carries and keeps the others, as InfluxDB does.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.store.base import (
    COLUMN_TYPES,
    ClosingStore,
    FieldValue,
    Point,
    Row,
    StoreError,
    StoreUnavailable,
    check_query,
)
from ingest.wire import FIELD_TYPES

__all__ = ["EmbeddedStore"]

logger = logging.getLogger(__name__)

_TABLE = "telemetry"
_COLUMN_TYPES = COLUMN_TYPES
_SQL_TYPES = {float: "REAL", int: "INTEGER", bool: "INTEGER"}
# Field names come from FIELD_TYPES (plain identifiers), never from callers, so
# they can be spliced into SQL; values always go through parameters.
_FIELDS = list(FIELD_TYPES)


class EmbeddedStore(ClosingStore):
    """``TelemetryStore`` over SQLite (WAL mode); ``path=":memory:"`` for tests."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # One connection behind a lock: a writer thread and the API's threads share
        # it safely, and ":memory:" needs a single connection anyway. SQLite
        # serialises writers itself, so a pool would buy only concurrent reads.
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._set_up(self._conn)
        except sqlite3.Error as exc:
            self.close()
            raise _store_error(exc, self.path) from exc
        logger.info("embedded telemetry store open at %s", self.path)

    # -- TelemetryStore ---------------------------------------------------------------

    def write(self, points: Sequence[Point]) -> None:
        rows = [_row_params(point) for point in points]  # validate all before writing any
        if not rows:
            return
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_UPSERT, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        logger.debug("wrote %d points to %s", len(rows), self.path)

    def query(
        self,
        asset_id: str,
        start_ms: int,
        end_ms: int,
        every_ms: int | None = None,
        fields: Sequence[str] | None = None,
        limit: int = 10_000,
    ) -> list[Row]:
        names = check_query(every_ms, fields, limit)
        # A row (or bucket) with none of the asked fields is left out, as in InfluxDB.
        present = " OR ".join(f'"{name}" IS NOT NULL' for name in names)
        where = f"asset_id = ? AND ts_ms >= ? AND ts_ms < ? AND ({present})"
        params: list[Any] = [asset_id, start_ms, end_ms]
        if every_ms is None:
            columns = ", ".join(f'"{name}"' for name in names)
            sql = f"SELECT ts_ms, {columns} FROM {_TABLE} WHERE {where} "
            sql += "ORDER BY ts_ms, device_id LIMIT ?"
            return [_raw_row(names, row) for row in self._fetch(sql, [*params, limit])]
        # Buckets start at multiples of every_ms since the epoch (like InfluxDB's
        # GROUP BY time); timestamps are never negative, so "/" floors.
        columns = ", ".join(f'AVG("{name}")' for name in names)
        sql = (
            f"SELECT (ts_ms / ?) * ? AS bucket, {columns} FROM {_TABLE} WHERE {where} "
            "GROUP BY bucket ORDER BY bucket LIMIT ?"
        )
        rows = self._fetch(sql, [every_ms, every_ms, *params, limit])
        return [_bucket_row(names, row) for row in rows]

    def last(self, asset_id: str) -> Row | None:
        names = list(_COLUMN_TYPES)
        columns = ", ".join(f'"{name}"' for name in names)
        sql = (
            f"SELECT ts_ms, {columns} FROM {_TABLE} WHERE asset_id = ? "
            "ORDER BY ts_ms DESC, device_id DESC LIMIT 1"
        )
        rows = self._fetch(sql, [asset_id])
        return _raw_row(names, rows[0]) if rows else None

    def count(self, asset_id: str | None = None) -> int:
        if asset_id is None:
            rows = self._fetch(f"SELECT COUNT(*) FROM {_TABLE}", [])
        else:
            rows = self._fetch(f"SELECT COUNT(*) FROM {_TABLE} WHERE asset_id = ?", [asset_id])
        return int(rows[0][0])

    def ping(self) -> bool:
        try:
            self._fetch("SELECT 1", [])
        except StoreError:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


    # -- SQLite ----------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise StoreError(f"embedded store {self.path} is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _store_error(exc, self.path) from exc

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    @staticmethod
    def _set_up(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL makes a committed write survive a crash of this
        # process (it is in the WAL file when write() returns); only a power loss
        # or OS crash before the next checkpoint can lose the newest commits.
        # FULL would fsync on every commit for that last bit of safety.
        conn.execute("PRAGMA synchronous=NORMAL")
        field_columns = "".join(
            f', "{name}" {_SQL_TYPES[kind]}' for name, kind in FIELD_TYPES.items()
        )
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_TABLE} (asset_id TEXT NOT NULL, "
            "ts_ms INTEGER NOT NULL, device_id TEXT NOT NULL, seq INTEGER NOT NULL"
            f"{field_columns}, PRIMARY KEY (asset_id, ts_ms, device_id)) WITHOUT ROWID"
        )
        _add_missing_columns(conn)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Columns for wire fields added after the file was created (wire v1 grows by adding)."""
    existing = {row[1] for row in conn.execute(f"PRAGMA table_info({_TABLE})")}
    for name, kind in FIELD_TYPES.items():
        if name not in existing:
            conn.execute(f'ALTER TABLE {_TABLE} ADD COLUMN "{name}" {_SQL_TYPES[kind]}')
            logger.info("embedded store: added column %s", name)


def _upsert_sql() -> str:
    columns = ", ".join(f'"{name}"' for name in _FIELDS)
    marks = ", ".join("?" for _ in _FIELDS)
    # COALESCE keeps a field the new point does not carry: InfluxDB merges fields too.
    updates = ", ".join(f'"{name}" = COALESCE(excluded."{name}", "{name}")' for name in _FIELDS)
    return (
        f"INSERT INTO {_TABLE} (asset_id, ts_ms, device_id, seq, {columns}) "
        f"VALUES (?, ?, ?, ?, {marks}) ON CONFLICT (asset_id, ts_ms, device_id) "
        f"DO UPDATE SET seq = excluded.seq, {updates}"
    )


_UPSERT = _upsert_sql()


def _store_error(exc: sqlite3.Error, path: str) -> StoreError:
    # OperationalError is what SQLite raises for "locked", "busy", "disk full" and
    # I/O errors: conditions that pass. Our SQL is fixed, so anything else is a bug.
    kind = StoreUnavailable if isinstance(exc, sqlite3.OperationalError) else StoreError
    return kind(f"embedded store {path}: {type(exc).__name__}: {exc}")




def _row_params(point: Point) -> list[Any]:
    if not point.asset_id or not point.device_id:
        raise StoreError("empty asset_id or device_id")
    for name in ("seq", "ts_ms"):
        value = getattr(point, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise StoreError(f"{name} must be an integer, not {value!r}")
    unknown = set(point.fields) - FIELD_TYPES.keys()
    if unknown:
        raise StoreError(f"unknown fields {sorted(unknown)!r}")
    values = [_column_value(name, point.fields.get(name)) for name in _FIELDS]
    return [point.asset_id, point.ts_ms, point.device_id, point.seq, *values]


def _column_value(name: str, value: FieldValue | None) -> float | int | None:
    """The SQLite value of a field, with the checks ``InfluxStore`` makes."""
    kind = FIELD_TYPES[name]
    if value is None:
        return None
    if kind is bool:
        if isinstance(value, bool):
            return int(value)
    elif isinstance(value, bool):
        pass  # a bool is an int in Python, never a number here
    elif kind is int:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif isinstance(value, int | float):
        if math.isfinite(value):
            return float(value)
        raise StoreError(f"{name}={value!r} is not finite")
    raise StoreError(f"{name}={value!r} is not a {kind.__name__}")


def _raw_row(names: Sequence[str], row: Sequence[Any]) -> Row:
    values: Mapping[str, float | int | bool | None] = {
        name: _COLUMN_TYPES[name](value)
        for name, value in zip(names, row[1:], strict=True)
        if value is not None
    }
    return Row(int(row[0]), values)


def _bucket_row(names: Sequence[str], row: Sequence[Any]) -> Row:
    values: Mapping[str, float | int | bool | None] = {
        name: float(value) for name, value in zip(names, row[1:], strict=True) if value is not None
    }
    return Row(int(row[0]), values)
