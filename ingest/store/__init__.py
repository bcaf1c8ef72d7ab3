"""Time-series stores: InfluxDB over HTTP, or the embedded SQLite store."""

from ingest.store.base import (
    MEASUREMENT,
    Point,
    Row,
    StoreError,
    StoreUnavailable,
    TelemetryStore,
)
from ingest.store.factory import open_store

__all__ = [
    "MEASUREMENT",
    "Point",
    "Row",
    "StoreError",
    "StoreUnavailable",
    "TelemetryStore",
    "open_store",
]
