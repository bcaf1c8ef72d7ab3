"""The InfluxDB store: line protocol to ``/write``, InfluxQL to ``/query``.

These endpoints are served by InfluxDB 1.x, and by 2.x and 3.x for 1.x
compatibility, so one client covers all three. Every field has one fixed type
(``ingest.wire.FIELD_TYPES``): floats are always written as floats and ints
with the ``i`` suffix, so a field never changes type (a 400 in InfluxDB).

Downsampled booleans: InfluxQL cannot ``MEAN()`` a boolean, so each boolean
is counted twice per bucket (all values, and ``WHERE field = true``) and the
row holds ``true / all``, the same fraction the embedded store's ``AVG`` gives.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from ingest.store.base import (
    COLUMN_TYPES,
    MEASUREMENT,
    ClosingStore,
    FieldValue,
    Point,
    Row,
    StoreError,
    StoreUnavailable,
    check_query,
)
from ingest.wire import FIELD_TYPES, WireFields

__all__ = ["InfluxStore", "format_line", "escape_tag", "quote_string", "quote_ident"]

logger = logging.getLogger(__name__)

# Points per /write request: InfluxDB's advice is 5,000-10,000 per batch.
_LINES_PER_REQUEST = 5000
_MAX_ERROR_CHARS = 500
_TAG_SPECIALS = (",", " ", "=")
# seq is stored as an integer field next to the wire fields.
_COLUMN_TYPES = COLUMN_TYPES
_BOOL_FIELDS = frozenset(name for name, kind in FIELD_TYPES.items() if kind is bool)

Json = dict[str, Any]


class InfluxStore(ClosingStore):
    """``TelemetryStore`` over the InfluxDB 1.x HTTP API (also served by 2.x and 3.x)."""

    def __init__(
        self,
        base_url: str,
        database: str,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout_s: float = 10,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.database = database
        # For messages: host and port only, never credentials or paths.
        self._where = urlsplit(base_url).netloc.rpartition("@")[2]
        headers: dict[str, str] = {}
        auth: httpx.Auth | None = None
        if token:
            headers["Authorization"] = f"Token {token}"
        elif username:
            auth = httpx.BasicAuth(username, password or "")
        self._client = httpx.Client(
            base_url=base_url, auth=auth, headers=headers, timeout=timeout_s, transport=transport
        )

    # -- TelemetryStore ---------------------------------------------------------------

    def write(self, points: Sequence[Point]) -> None:
        # Format everything first: a bad point fails the batch before any of it is sent.
        lines = _decoded_lines(points)
        if lines is None:
            lines = [format_line(point) for point in points]
        for start in range(0, len(lines), _LINES_PER_REQUEST):
            self._write_lines(lines[start : start + _LINES_PER_REQUEST])

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
        if start_ms >= end_ms:
            return []
        where = f"{_asset_is(asset_id)} AND time >= {start_ms}ms AND time < {end_ms}ms"
        if every_ms is None:
            columns = ", ".join(quote_ident(name) for name in names)
            q = f"SELECT {columns} FROM {quote_ident(MEASUREMENT)} WHERE {where} LIMIT {limit}"
            return [_raw_row(row) for row in _records(self._select(q)[0])]
        return self._downsample(where, every_ms, names, limit)

    def last(self, asset_id: str) -> Row | None:
        q = (
            f"SELECT * FROM {quote_ident(MEASUREMENT)} WHERE {_asset_is(asset_id)} "
            "ORDER BY time DESC LIMIT 1"
        )
        rows = _records(self._select(q)[0])
        return _raw_row(rows[0]) if rows else None

    def count(self, asset_id: str | None = None) -> int:
        where = "" if asset_id is None else f" WHERE {_asset_is(asset_id)}"
        q = f'SELECT COUNT("seq") FROM {quote_ident(MEASUREMENT)}{where}'
        rows = _records(self._select(q)[0])
        return int(rows[0]["count"]) if rows else 0

    def ping(self) -> bool:
        try:
            response = self._client.get("/ping")
        except httpx.HTTPError as exc:
            logger.debug("ping %s failed: %s", self._where, type(exc).__name__)
            return False
        return response.status_code in (200, 204)

    def close(self) -> None:
        self._client.close()


    # -- administration ------------------------------------------------------------------

    def ensure_database(self) -> None:
        """``CREATE DATABASE`` (idempotent); a server that refuses it (2.x, 3.x) is logged."""
        q = f"CREATE DATABASE {quote_ident(self.database)}"
        try:
            results = self._results(self._request("POST", "/query", {"q": q}))
        except StoreUnavailable:
            raise
        except StoreError as exc:
            self._log_no_database(str(exc))
            return
        for result in results:
            if "error" in result:
                self._log_no_database(str(result["error"]))
                return
        logger.info("InfluxDB database %r ready at %s", self.database, self._where)

    def _log_no_database(self, reason: str) -> None:
        # InfluxDB 2.x/3.x (buckets) and users without admin rights land here.
        logger.warning(
            "InfluxDB at %s did not create database %r: %s", self._where, self.database, reason
        )

    # -- HTTP ----------------------------------------------------------------------------

    def _write_lines(self, lines: list[str]) -> None:
        body = "\n".join(lines).encode()
        params = {"db": self.database, "precision": "ms"}
        response = self._send("POST", "/write", params, body)
        if response.status_code == 404 and b"database not found" in response.content:
            # Created lazily when InfluxDB was down at start-up, or dropped since.
            self.ensure_database()
            response = self._send("POST", "/write", params, body)
        _raise_for_status(response, self._where)
        logger.debug("wrote %d points to %s/%s", len(lines), self._where, self.database)

    def _select(self, q: str) -> list[Json]:
        params = {"q": q, "db": self.database, "epoch": "ms"}
        results = self._results(self._request("GET", "/query", params))
        for result in results:
            if "error" in result:
                raise StoreError(f"InfluxDB at {self._where} refused a query: {result['error']}")
        return results

    def _request(self, method: str, path: str, params: Mapping[str, str]) -> httpx.Response:
        response = self._send(method, path, params, None)
        _raise_for_status(response, self._where)
        return response

    def _send(
        self, method: str, path: str, params: Mapping[str, str], body: bytes | None
    ) -> httpx.Response:
        try:
            return self._client.request(method, path, params=params, content=body)
        except httpx.TransportError as exc:
            # Connection refused/reset, DNS, timeouts: the server may come back.
            raise StoreUnavailable(
                f"InfluxDB at {self._where} unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        except httpx.HTTPError as exc:  # redirects, undecodable bodies: not transient
            raise StoreError(f"InfluxDB at {self._where}: {type(exc).__name__}: {exc}") from exc

    def _results(self, response: httpx.Response) -> list[Json]:
        try:
            results = response.json()["results"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"InfluxDB at {self._where} sent no query results") from exc
        if not isinstance(results, list):
            raise StoreError(f"InfluxDB at {self._where} sent malformed query results")
        return results

    def _downsample(self, where: str, every_ms: int, names: list[str], limit: int) -> list[Row]:
        tail = f"GROUP BY time({every_ms}ms) fill(none) LIMIT {limit}"
        measurement = quote_ident(MEASUREMENT)
        aggregates = ", ".join(
            f"{'COUNT' if name in _BOOL_FIELDS else 'MEAN'}({quote_ident(name)}) AS "
            f"{quote_ident(name)}"
            for name in names
        )
        statements = [f"SELECT {aggregates} FROM {measurement} WHERE {where} {tail}"]
        booleans = [name for name in names if name in _BOOL_FIELDS]
        for name in booleans:
            field = quote_ident(name)
            statements.append(
                f"SELECT COUNT({field}) AS {field} FROM {measurement} "
                f"WHERE {where} AND {field} = true {tail}"
            )
        results = self._select("; ".join(statements))
        trues = {
            name: {rec["time"]: rec[name] for rec in _records(result)}
            for name, result in zip(booleans, results[1:], strict=True)
        }
        return [_bucket_row(rec, trues) for rec in _records(results[0])]


def _raise_for_status(response: httpx.Response, where: str) -> None:
    status = response.status_code
    if status < 300:
        return
    message = f"InfluxDB at {where} answered {status}: {_error_text(response)}"
    # 429 is InfluxDB Cloud's "slow down": retrying later is the cure, like a 5xx.
    if status >= 500 or status == 429:
        raise StoreUnavailable(message)
    raise StoreError(message)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error") or body.get("message"), str):
        text: str = body.get("error") or body["message"]
    else:
        text = response.text or response.reason_phrase
    return text[:_MAX_ERROR_CHARS]




def _records(result: Json) -> list[Json]:
    """The rows of one statement's series as dicts, oldest first."""
    records: list[Json] = []
    for series in result.get("series", []):
        columns = series["columns"]
        records.extend(dict(zip(columns, values, strict=True)) for values in series["values"])
    records.sort(key=lambda rec: int(rec["time"]))
    return records


def _raw_row(record: Mapping[str, Any]) -> Row:
    # JSON turns a float 2.0 into 2: the schema, not the JSON, says what type a value is.
    values: dict[str, float | int | bool | None] = {
        name: _COLUMN_TYPES[name](value)
        for name, value in record.items()
        if name in _COLUMN_TYPES and value is not None
    }
    return Row(int(record["time"]), values)


def _bucket_row(record: Mapping[str, Any], trues: Mapping[str, Mapping[int, int]]) -> Row:
    values: dict[str, float | int | bool | None] = {}
    for name, value in record.items():
        if name == "time" or value is None:
            continue
        if name in trues:
            # value is this bucket's count of the boolean; buckets without trues are absent.
            values[name] = trues[name].get(record["time"], 0) / value if value else None
        else:
            values[name] = float(value)
    return Row(int(record["time"]), {k: v for k, v in values.items() if v is not None})


# -- line protocol and InfluxQL quoting (pure) -----------------------------------------------


def format_line(point: Point) -> str:
    """One point as a line: ``telemetry,asset_id=..,device_id=.. seq=1i,lat=1.5 <ms>``."""
    if type(point.seq) is not int:  # exact types: a bool is an int in Python
        raise StoreError(f"seq must be an integer, not {point.seq!r}")
    if type(point.ts_ms) is not int:
        raise StoreError(f"ts_ms must be an integer, not {point.ts_ms!r}")
    fields = _format_fields_fast(point.fields)
    if fields is None:
        fields = "".join(_format_fields(point.fields))
    return f"{_series(point.asset_id, point.device_id)} seq={point.seq}i{fields} {point.ts_ms}"


# JSON of decoded fields -> line protocol: "lat":1.5 -> lat=1.5, and ints get their i.
_JSON_TO_LINE = bytes.maketrans(b":", b"=")
_INT_FIELDS = [name for name, kind in FIELD_TYPES.items() if kind is int]
_INT_VALUES = [re.compile(rb"(%s=-?\d+)" % name.encode()) for name in _INT_FIELDS]
# A pattern must not match inside another name: none ends with an int field's name.
assert not [n for n in FIELD_TYPES for i in _INT_FIELDS if n != i and n.endswith(i)]


def _decoded_lines(points: Sequence[Point]) -> list[str] | None:
    """Lines for a batch whose fields all come from the wire decoder (``WireFields``:
    known names, exact types, finite), or None if any does not.

    One orjson dump of all the fields becomes line protocol with a few C-level passes
    (names need no escaping, values are numbers and true/false), a third of
    ``format_line``'s cost. Floats are orjson's shortest form (``1e-7``), which
    InfluxDB reads as ``repr`` would write them.
    """
    if not points or any(type(p.fields) is not WireFields for p in points):
        return None
    body = orjson.dumps([p.fields for p in points]).translate(_JSON_TO_LINE, b'"')
    for pattern in _INT_VALUES:  # split and join: several times cheaper than re.sub
        parts = pattern.split(body)
        parts[1::2] = [value + b"i" for value in parts[1::2]]
        body = b"".join(parts)
    fields = body.decode()[2:-2].split("},{")
    return [f"{_series(p.asset_id, p.device_id)} seq={p.seq}i{',' if f else ''}{f} {p.ts_ms}"
            for p, f in zip(points, fields, strict=True)]


# 0 float, 1 int, 2 bool: what _format_fields_fast accepts per name.
_KIND_CODES = {name: (0 if kind is float else 1 if kind is int else 2)
               for name, kind in FIELD_TYPES.items()}


def _format_fields_fast(fields: Mapping[str, FieldValue]) -> str | None:
    """The fields as ingest's decoder leaves them (known names, exact types, finite floats),
    in one pass; None for anything else, which _format_fields formats or refuses."""
    parts = []
    kinds = _KIND_CODES
    for name, value in fields.items():
        vtype = type(value)
        kind = kinds.get(name)
        if vtype is float and kind == 0 and value - value == 0.0:
            parts.append(f",{name}={value!r}")
        elif vtype is bool and kind == 2:
            parts.append(f",{name}=true" if value else f",{name}=false")
        elif vtype is int and kind == 1:
            parts.append(f",{name}={value}i")
        else:
            return None
    return "".join(parts)


@functools.lru_cache(maxsize=65536)
def _series(asset_id: str, device_id: str) -> str:
    return f"{MEASUREMENT},asset_id={escape_tag(asset_id)},device_id={escape_tag(device_id)}"


def _format_fields(fields: Mapping[str, FieldValue]) -> Iterable[str]:
    # Known names are plain identifiers: no escaping needed for the key. The common
    # exact-type cases are inline (this runs per field of every point); _format_value
    # handles and explains the rest.
    for name, value in fields.items():
        if value is None:  # absent, as in the embedded store
            continue
        kind = FIELD_TYPES.get(name)
        if kind is None:
            raise StoreError(f"unknown field {name!r}")
        vtype = type(value)
        if vtype is kind:
            if kind is float:
                if value - value == 0.0:  # finite
                    yield f",{name}={value!r}"
                    continue
            elif kind is bool:
                yield f",{name}=true" if value else f",{name}=false"
                continue
            else:
                yield f",{name}={value}i"
                continue
        yield f",{name}={_format_value(name, kind, value)}"


def _format_value(name: str, kind: type, value: object) -> str:
    if kind is bool:
        if isinstance(value, bool):
            return "true" if value else "false"
    elif isinstance(value, bool):
        pass  # a bool is an int in Python, never a number here
    elif kind is int:
        if isinstance(value, int):
            return f"{value}i"
        if isinstance(value, float) and value.is_integer():
            return f"{int(value)}i"
    elif isinstance(value, int | float):
        if math.isfinite(value):
            return repr(float(value))  # always has "." or "e": never mistaken for an int
        raise StoreError(f"{name}={value!r} is not finite")
    raise StoreError(f"{name}={value!r} is not a {kind.__name__}")


def escape_tag(value: str) -> str:
    """Escape a tag value for line protocol; refuse what it cannot carry.

    Line protocol has no escape for a backslash, so one at the end or before
    ``,``/`` ``/``=`` would swallow the separator; empty tags are dropped by
    InfluxDB and newlines end the line.
    """
    if not value:
        raise StoreError("empty tag value")
    if "\n" in value or "\r" in value:
        raise StoreError(f"tag value {value!r} holds a line break")
    if value.endswith("\\") or any(f"\\{ch}" in value for ch in _TAG_SPECIALS):
        raise StoreError(f"tag value {value!r} holds a backslash line protocol cannot carry")
    for ch in _TAG_SPECIALS:
        value = value.replace(ch, f"\\{ch}")
    return value


def quote_string(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_ident(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _asset_is(asset_id: str) -> str:
    return f'"asset_id" = {quote_string(asset_id)}'
