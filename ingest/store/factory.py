"""Open the telemetry store named by a URL (``CW_STORE_URL``, say).

>>> parse_store_url("influxdb://cw:secret@db.example:8086/collateral")
StoreSpec(kind='influx', base_url='http://db.example:8086', database='collateral', username='cw')
>>> parse_store_url("embedded:///var/lib/cw/telemetry.db").path
'/var/lib/cw/telemetry.db'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, unquote, urlsplit

from ingest.store.base import StoreUnavailable, TelemetryStore
from ingest.store.embedded import EmbeddedStore
from ingest.store.influx import InfluxStore

__all__ = ["StoreSpec", "open_store", "parse_store_url", "DEFAULT_INFLUX_PORT"]

logger = logging.getLogger(__name__)

DEFAULT_INFLUX_PORT = 8086
_HTTP_SCHEMES = {"influxdb": "http", "influxdbs": "https"}
_USAGE = "embedded:///abs/path.db, influxdb://[user:password@]host[:port]/db or influxdbs://..."


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """A parsed store URL; secrets stay out of ``repr``."""

    kind: Literal["embedded", "influx"]
    path: str | None = None
    base_url: str | None = None
    database: str | None = None
    username: str | None = None
    password: str | None = None
    token: str | None = None

    def __repr__(self) -> str:
        shown = {
            "path": self.path,
            "base_url": self.base_url,
            "database": self.database,
            "username": self.username,
        }
        args = "".join(f", {k}={v!r}" for k, v in shown.items() if v is not None)
        return f"StoreSpec(kind={self.kind!r}{args})"


def open_store(url: str | None, data_dir: Path) -> TelemetryStore:
    """The store for ``url``; none or empty means the embedded store in ``data_dir``."""
    if url:
        spec = parse_store_url(url)
    else:
        spec = StoreSpec("embedded", path=str(data_dir / "telemetry.db"))
    if spec.kind == "embedded":
        assert spec.path is not None
        return EmbeddedStore(spec.path)
    assert spec.base_url is not None and spec.database is not None
    store = InfluxStore(
        spec.base_url,
        spec.database,
        username=spec.username,
        password=spec.password,
        token=spec.token,
    )
    try:
        store.ensure_database()
    except StoreUnavailable as exc:
        # Start anyway: ingest spools until InfluxDB is back, and the first write
        # that finds no database creates it.
        logger.warning("InfluxDB not reachable at start-up: %s", exc)
    return store


def parse_store_url(url: str) -> StoreSpec:
    """Parse a store URL; ``ValueError`` (without the password) when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # urllib's messages may quote parts of the URL: say nothing of it.
        raise ValueError(f"malformed telemetry store URL; use {_USAGE}") from None
    scheme = parts.scheme.lower()
    if scheme == "embedded":
        return _embedded_spec(parts)
    if scheme in _HTTP_SCHEMES:
        return _influx_spec(parts, _HTTP_SCHEMES[scheme], port or DEFAULT_INFLUX_PORT)
    raise ValueError(f"unknown telemetry store URL scheme {parts.scheme!r}; use {_USAGE}")


def _embedded_spec(parts: SplitResult) -> StoreSpec:
    path = unquote(parts.path)
    if parts.netloc or not path.startswith("/") or path.endswith("/") or parts.query:
        raise ValueError("embedded store URL must be embedded:///absolute/path.db")
    return StoreSpec("embedded", path=path)


def _influx_spec(parts: SplitResult, http_scheme: str, port: int) -> StoreSpec:
    database = unquote(parts.path.strip("/"))
    if not parts.hostname or not database or "/" in database or parts.query or parts.fragment:
        raise ValueError("InfluxDB store URL must be influxdb://[user:password@]host[:port]/db")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    base_url = f"{http_scheme}://{host}:{port}"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if username is None and password:
        # influxdb://:TOKEN@host/db: an API token (InfluxDB 2.x/3.x) instead of a user.
        return StoreSpec("influx", base_url=base_url, database=database, token=password)
    return StoreSpec(
        "influx", base_url=base_url, database=database, username=username, password=password
    )
