"""InfluxStore: the store contract against a real influxd, plus line protocol and HTTP errors."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingest.store.base import Point, StoreError, StoreUnavailable
from ingest.store.factory import open_store
from ingest.store.influx import (
    InfluxStore,
    _decoded_lines,
    escape_tag,
    format_line,
    quote_ident,
    quote_string,
)
from ingest.wire import FIELD_TYPES, decode_fields
from tests.ingest.store_contract import ALL_FIELDS, MIN, T0, StoreContract, point
from tests.servers import INFLUXD, InfluxHandle, free_port, require_binary, start_influxd

# -- against a real influxd --------------------------------------------------------------


def _drop_database(handle: InfluxHandle, database: str) -> None:
    with httpx.Client(base_url=handle.http_url) as client:
        client.post("/query", params={"q": f"DROP DATABASE {quote_ident(database)}"})


@pytest.fixture
def database(influxd: InfluxHandle) -> Iterator[str]:
    """A fresh database name, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    _drop_database(influxd, name)


@pytest.fixture
def influx_store(influxd: InfluxHandle, database: str) -> Iterator[InfluxStore]:
    with InfluxStore(influxd.http_url, database) as store:
        store.ensure_database()
        yield store


@pytest.mark.integration
class TestInfluxStoreContract(StoreContract):
    @pytest.fixture
    def store(self, influx_store: InfluxStore) -> InfluxStore:
        return influx_store

    @pytest.fixture
    def down_store(self) -> Iterator[InfluxStore]:
        with InfluxStore(f"http://127.0.0.1:{free_port()}", "collateral", timeout_s=2) as store:
            yield store


@pytest.mark.integration
class TestInfluxStoreServer:
    def test_a_type_conflict_is_a_store_error_with_the_servers_word(
        self, influx_store: InfluxStore, influxd: InfluxHandle, database: str
    ) -> None:
        # Someone else wrote speed_kmh as an integer first (types are per shard: same week).
        with httpx.Client(base_url=influxd.http_url) as client:
            client.post(
                "/write",
                params={"db": database, "precision": "ms"},
                content=f"telemetry,asset_id=a1,device_id=d1 seq=1i,speed_kmh=3i {T0}".encode(),
            )
        with pytest.raises(StoreError, match="field type conflict") as caught:
            influx_store.write([point(T0 + 1, speed_kmh=3.0)])
        assert not isinstance(caught.value, StoreUnavailable)

    def test_querying_a_missing_database_is_a_store_error(self, influxd: InfluxHandle) -> None:
        with InfluxStore(influxd.http_url, "no_such_db") as store:
            with pytest.raises(StoreError, match="database not found") as caught:
                store.query("a1", T0, T0 + MIN)
            assert not isinstance(caught.value, StoreUnavailable)

    def test_the_first_write_creates_a_missing_database(
        self, influxd: InfluxHandle, database: str
    ) -> None:
        with InfluxStore(influxd.http_url, database) as store:  # no ensure_database()
            store.write([point(T0, temp_c=1.0)])
            assert store.count() == 1

    def test_ensure_database_is_idempotent(self, influx_store: InfluxStore) -> None:
        influx_store.write([point(T0, temp_c=1.0)])
        influx_store.ensure_database()
        assert influx_store.count() == 1

    def test_open_store_creates_the_database(
        self, influxd: InfluxHandle, database: str, tmp_path: Path
    ) -> None:
        store = open_store(f"influxdb://127.0.0.1:{influxd.port}/{database}", tmp_path)
        try:
            assert isinstance(store, InfluxStore)
            store.write([point(T0, **ALL_FIELDS)])
            assert store.last("a1") is not None
        finally:
            store.close()

    def test_unreachable_server_is_unavailable_on_every_call(self) -> None:
        with InfluxStore(f"http://127.0.0.1:{free_port()}", "db", timeout_s=2) as store:
            assert store.ping() is False
            calls: list[Callable[[], object]] = [
                lambda: store.query("a1", T0, T0 + MIN),
                lambda: store.last("a1"),
                lambda: store.count(),
                store.ensure_database,
            ]
            for call in calls:
                with pytest.raises(StoreUnavailable):
                    call()


@pytest.mark.integration
def test_a_stopped_server_is_unavailable_and_comes_back_with_its_data(tmp_path: Path) -> None:
    binary = require_binary(INFLUXD)
    with start_influxd(tmp_path, binary=binary) as server:
        store = open_store(server.url, tmp_path)
        try:
            store.write([point(T0, temp_c=1.0)])
            server.stop()
            assert store.ping() is False
            with pytest.raises(StoreUnavailable):
                store.write([point(T0 + 1, temp_c=2.0)])
            server.start()
            store.write([point(T0 + 1, temp_c=2.0)])
            assert store.count("a1") == 2
        finally:
            store.close()


# -- line protocol and InfluxQL quoting ------------------------------------------------------


def test_a_line_carries_tags_int_seq_and_typed_fields() -> None:
    line = format_line(
        point(T0, asset_id="a1", device_id="d1", seq=42, speed_kmh=0, sats=7, ignition=True)
    )
    fields = "seq=42i,speed_kmh=0.0,sats=7i,ignition=true"
    assert line == f"telemetry,asset_id=a1,device_id=d1 {fields} {T0}"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0.0"), (3, "3.0"), (1e16, "1e+16"), (-2.5e-7, "-2.5e-07"), (12.6, "12.6")],
)
def test_floats_are_always_written_as_floats(value: float, text: str) -> None:
    assert format_line(point(T0, temp_c=value)).endswith(f",temp_c={text} {T0}")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("a b", "a\\ b"),
        ("a,b", "a\\,b"),
        ("a=b", "a\\=b"),
        ('it\'s"x"', 'it\'s"x"'),  # quotes need no escape in tags
        ("a\\b", "a\\b"),  # a backslash before an ordinary character is kept as is
        ("München", "München"),
    ],
)
def test_tag_values_escape_separators(value: str, escaped: str) -> None:
    assert escape_tag(value) == escaped


@pytest.mark.parametrize("value", ["", "a\nb", "a\rb", "ends\\", "a\\,b", "a\\ b", "a\\=b"])
def test_tag_values_line_protocol_cannot_carry_are_refused(value: str) -> None:
    with pytest.raises(StoreError):
        escape_tag(value)


def test_influxql_quoting() -> None:
    assert quote_string("x' OR '1'='1") == "'x\\' OR \\'1\\'=\\'1'"
    assert quote_string("a\\b") == "'a\\\\b'"
    assert quote_ident('we"ird') == '"we\\"ird"'


# -- HTTP status mapping, auth and secrets (no server: a mock transport) --------------------------


Handler = Callable[[httpx.Request], httpx.Response]


def _mock_store(
    handler: Handler,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> InfluxStore:
    transport = httpx.MockTransport(handler)
    return InfluxStore(
        "http://influx.test:8086", "db", username, password, token, transport=transport
    )


def _answer(status: int, body: object = None) -> Handler:
    return lambda request: httpx.Response(status, json=body)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_5xx_and_429_are_unavailable(status: int) -> None:
    with _mock_store(_answer(status, {"error": "busy"})) as store:
        with pytest.raises(StoreUnavailable, match=str(status)):
            store.write([point(T0, temp_c=1.0)])
        with pytest.raises(StoreUnavailable):
            store.count()


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_other_4xx_are_store_errors_with_the_servers_message(status: int) -> None:
    with _mock_store(_answer(status, {"error": "nope: reason"})) as store:
        with pytest.raises(StoreError, match="nope: reason") as caught:
            store.write([point(T0, temp_c=1.0)])
        assert not isinstance(caught.value, StoreUnavailable)


def test_a_timeout_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with _mock_store(handler) as store:
        with pytest.raises(StoreUnavailable, match="ReadTimeout"):
            store.write([point(T0, temp_c=1.0)])


def test_a_query_error_inside_a_200_is_a_store_error() -> None:
    body = {"results": [{"statement_id": 0, "error": "something broke"}]}
    with _mock_store(_answer(200, body)) as store:
        with pytest.raises(StoreError, match="something broke"):
            store.last("a1")


def test_basic_auth_and_no_password_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"error": "authorization failed"})

    caplog.set_level(logging.DEBUG)
    with _mock_store(handler, username="cw", password="s3cr3t-pw") as store:
        with pytest.raises(StoreError) as caught:
            store.write([point(T0, temp_c=1.0)])
        store.ensure_database()  # logs the refusal, goes on
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert "s3cr3t-pw" not in str(seen[0].url)
    assert "s3cr3t-pw" not in str(caught.value)
    assert "s3cr3t-pw" not in caplog.text
    assert "did not create database" in caplog.text


def test_a_token_goes_in_the_authorization_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with _mock_store(handler, token="tok-123") as store:
        store.write([point(T0, temp_c=1.0)])
        assert store.ping() is True
    assert seen[0].headers["authorization"] == "Token tok-123"
    assert seen[0].url.params["db"] == "db"
    assert seen[0].url.params["precision"] == "ms"


@pytest.mark.parametrize("status", [400, 403, 404, 405])
def test_ensure_database_tolerates_servers_that_refuse_it(status: int) -> None:
    with _mock_store(_answer(status, {"error": "not here"})) as store:
        store.ensure_database()


def test_ensure_database_raises_when_the_server_is_down() -> None:
    with _mock_store(_answer(503, {"error": "starting"})) as store:
        with pytest.raises(StoreUnavailable):
            store.ensure_database()


def test_large_writes_are_split_into_batches() -> None:
    bodies: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content.count(b"\n") + 1)
        return httpx.Response(204)

    with _mock_store(handler) as store:
        store.write([point(T0 + i, seq=i, temp_c=1.0) for i in range(12_001)])
    assert bodies == [5000, 5000, 2001]


def test_credentials_in_the_base_url_stay_out_of_messages() -> None:
    with InfluxStore(
        "http://cw:hunter2@influx.test:8086", "db", transport=httpx.MockTransport(_answer(500))
    ) as store:
        with pytest.raises(StoreUnavailable) as caught:
            store.count()
    assert "hunter2" not in str(caught.value)
    assert "influx.test:8086" in str(caught.value)


# -- the decoder's fields: one batch formatted at once ----------------------------------------

EXTREMES: list[dict[str, Any]] = [
    {"lat": -89.9999999, "lon": 1e-7, "alt_m": -2.5e-7, "power_kw": 99999.99999, "sats": 128,
     "gnss_fix": 0, "ignition": False, "tamper": True},
    {"lat": 0, "lon": -180, "power_kw": -1e-5, "engine_rpm": 12345.678901234567, "sats": 0,
     "gnss_fix": 3, "temp_c": -80.0, "fuel_pct": 100},
    {"power_kw": 1e-300, "hdop": 5e-324, "vibration_mm_s": 1234.5},
    {},
]


def decoded_points(readings: list[dict[str, Any]]) -> list[Point]:
    """Points as ingest makes them: fields straight from the wire decoder."""
    items = [{"seq": i + 1, "ts_ms": T0 + i, **r} for i, r in enumerate(readings)]
    payload = orjson.dumps({"v": 1, "device_id": "d1", "readings": items})
    decoded = decode_fields("telemetry/d1", payload, now_ms=T0 + 10**9)
    assert not decoded.rejections
    return [Point("a1", "d1", ts, seq, fields) for seq, ts, fields, _ in decoded.readings]


def _pairs(line: str) -> dict[str, str]:
    head, fields, ts = line.split(" ")
    return {"head": head, "ts": ts, **dict(f.split("=") for f in fields.split(","))}


def test_decoded_fields_make_the_lines_format_line_makes_up_to_float_spelling() -> None:
    points = decoded_points(EXTREMES)
    fast = _decoded_lines(points)
    assert fast is not None
    for point_, line in zip(points, fast, strict=True):
        mine, reference = _pairs(line), _pairs(format_line(point_))
        assert mine.keys() == reference.keys()
        for name, text in reference.items():
            if FIELD_TYPES.get(name) is float:
                assert float(mine[name]) == float(text)
                assert "." in mine[name] or "e" in mine[name]  # a float, never an int
            else:
                assert mine[name] == text, name


def test_fields_not_from_the_decoder_take_format_lines_checks() -> None:
    points = decoded_points(EXTREMES[:1]) + [point(T0, temp_c=float("nan"))]
    assert _decoded_lines(points) is None
    with pytest.raises(StoreError):
        InfluxStore("http://127.0.0.1:9", "x").write(points)


@pytest.mark.integration
def test_decoded_extremes_read_back_exactly(influx_store: InfluxStore) -> None:
    influx_store.write(decoded_points(EXTREMES))
    rows = influx_store.query("a1", T0, T0 + 10)
    assert len(rows) == len(EXTREMES)
    for row, sent in zip(rows, EXTREMES, strict=True):
        got = {k: v for k, v in row.values.items() if v is not None and k != "seq"}
        assert got == sent
        assert all(type(got[k]) is FIELD_TYPES[k] for k in got if FIELD_TYPES[k] is not float)
