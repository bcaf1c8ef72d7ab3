"""open_store and parse_store_url: URLs to stores, never leaking a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.store.embedded import EmbeddedStore
from ingest.store.factory import StoreSpec, open_store, parse_store_url
from tests.servers import free_port


@pytest.mark.parametrize("url", [None, ""])
def test_no_url_means_the_embedded_store_in_the_data_dir(tmp_path: Path, url: str | None) -> None:
    store = open_store(url, tmp_path / "data")
    try:
        assert isinstance(store, EmbeddedStore)
        assert store.path == str(tmp_path / "data" / "telemetry.db")
    finally:
        store.close()
    assert (tmp_path / "data" / "telemetry.db").exists()


def test_embedded_url_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x" / "t.db"
    store = open_store(f"embedded://{path}", tmp_path / "unused")
    try:
        assert isinstance(store, EmbeddedStore)
        assert store.path == str(path)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "spec"),
    [
        (
            "influxdb://db.example:8087/collateral",
            StoreSpec("influx", base_url="http://db.example:8087", database="collateral"),
        ),
        (
            "influxdb://db.example/collateral",
            StoreSpec("influx", base_url="http://db.example:8086", database="collateral"),
        ),
        (
            "influxdbs://cw:p%40ss%3Aw@db.example:443/cw",
            StoreSpec(
                "influx",
                base_url="https://db.example:443",
                database="cw",
                username="cw",
                password="p@ss:w",
            ),
        ),
        (
            "influxdb://:tok%2Fen@127.0.0.1:9999/cw",
            StoreSpec("influx", base_url="http://127.0.0.1:9999", database="cw", token="tok/en"),
        ),
        (
            "influxdb://[::1]:8086/cw",
            StoreSpec("influx", base_url="http://[::1]:8086", database="cw"),
        ),
        ("embedded:///var/lib/cw/t%20x.db", StoreSpec("embedded", path="/var/lib/cw/t x.db")),
    ],
)
def test_urls_parse_into_specs(url: str, spec: StoreSpec) -> None:
    assert parse_store_url(url) == spec


@pytest.mark.parametrize(
    "url",
    [
        "postgres://cw:hunter2@db/cw",
        "influxdb://cw:hunter2@db.example:8086",  # no database
        "influxdb://cw:hunter2@db.example:8086/a/b",
        "influxdb://cw:hunter2@db.example:86o6/cw",  # bad port
        "influxdb://cw:hunter2@db.example:8086/cw?ssl=1",
        "influxdb://cw:hunter2@/cw",  # no host
        "embedded://relative/path.db",
        "embedded:///",
        "hunter2",
    ],
)
def test_bad_urls_are_value_errors_that_keep_the_secret(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_store_url(url)
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None or "hunter2" not in str(caught.value.__cause__)


def test_unknown_scheme_says_what_would_do() -> None:
    with pytest.raises(ValueError, match="unknown telemetry store URL scheme 'redis'.*influxdb://"):
        parse_store_url("redis://localhost/0")


def test_the_repr_of_a_spec_hides_secrets() -> None:
    spec = parse_store_url("influxdb://cw:hunter2@db.example/cw")
    token_spec = parse_store_url("influxdb://:tok-hunter2@db.example/cw")
    assert "hunter2" not in repr(spec) + repr(token_spec)
    assert "username='cw'" in repr(spec)


def test_an_unreachable_influxdb_still_opens(tmp_path: Path) -> None:
    store = open_store(f"influxdb://127.0.0.1:{free_port()}/cw", tmp_path)
    try:
        assert store.ping() is False
    finally:
        store.close()
