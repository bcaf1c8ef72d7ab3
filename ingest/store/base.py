"""The time-series store seen by the platform: one interface, two back ends.

``InfluxStore`` speaks the HTTP API that InfluxDB 1.x, 2.x and 3.x all serve
(line protocol to ``/write``, InfluxQL to ``/query``); ``EmbeddedStore`` keeps
the same data in a local SQLite file for a single machine with no InfluxDB.
Both pass tests/ingest/store_contract.py.

A point is keyed by (asset_id, device_id, ts_ms): writing the same key again
replaces it, so replaying a batch after a crash is idempotent, as in InfluxDB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from ingest.wire import FIELD_TYPES

__all__ = [
    "Point",
    "Row",
    "TelemetryStore",
    "StoreError",
    "StoreUnavailable",
    "MEASUREMENT",
    "COLUMN_TYPES",
    "ClosingStore",
    "check_query",
]

MEASUREMENT = "telemetry"

FieldValue = float | int | bool

#: Every stored column and its type: the wire fields plus the sequence number.
COLUMN_TYPES: dict[str, type] = {"seq": int, **FIELD_TYPES}


@dataclass(frozen=True, slots=True)
class Point:
    """One reading as stored: tags ``asset_id`` and ``device_id``, fields, device time."""

    asset_id: str
    device_id: str
    ts_ms: int
    seq: int
    fields: Mapping[str, FieldValue]


@dataclass(frozen=True, slots=True)
class Row:
    """A query result row: a time (bucket start when downsampled) and field values.

    Downsampled rows hold the mean of numeric fields over the bucket and the
    fraction of true values for boolean fields (``ignition`` 0.25 means on a
    quarter of the readings); buckets with no readings are omitted.
    """

    ts_ms: int
    values: Mapping[str, float | int | bool | None]


class StoreError(Exception):
    """The store refused a request (bad query, bad data): retrying will not help."""


class StoreUnavailable(StoreError):
    """The store could not be reached or timed out: retry later."""


class TelemetryStore(Protocol):
    def write(self, points: Sequence[Point]) -> None:
        """Store the points durably, or raise ``StoreUnavailable``/``StoreError``."""
        ...

    def query(
        self,
        asset_id: str,
        start_ms: int,
        end_ms: int,
        every_ms: int | None = None,
        fields: Sequence[str] | None = None,
        limit: int = 10_000,
    ) -> list[Row]:
        """Readings of one asset with ``start_ms <= ts < end_ms``, oldest first.

        With ``every_ms`` the rows are downsampled into buckets aligned to
        multiples of ``every_ms`` since the epoch. ``fields`` limits the columns.
        """
        ...

    def last(self, asset_id: str) -> Row | None:
        """The newest reading of an asset (all fields of that one point)."""
        ...

    def count(self, asset_id: str | None = None) -> int:
        """How many points are stored, for one asset or for all."""
        ...

    def ping(self) -> bool:
        """True when the store answers."""
        ...

    def close(self) -> None: ...


class ClosingStore:
    """Context-manager support shared by the stores: ``with store: ...`` closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def check_query(every_ms: int | None, fields: Sequence[str] | None, limit: int) -> list[str]:
    """The columns a query selects; raises ``StoreError`` on a bad request before any I/O.

    Both stores apply the same rules, so a query that one refuses the other refuses too.
    """
    if every_ms is not None and every_ms <= 0:
        raise StoreError(f"every_ms must be positive, not {every_ms}")
    if limit <= 0:  # LIMIT 0 means "no limit" in InfluxQL
        raise StoreError(f"limit must be positive, not {limit}")
    if fields is None:
        return list(FIELD_TYPES) if every_ms is not None else list(COLUMN_TYPES)
    unknown = [name for name in fields if name not in COLUMN_TYPES]
    if unknown:
        raise StoreError(f"unknown fields {unknown!r}")
    return list(dict.fromkeys(fields))
