"""Shared fixtures: real servers started once per test session.

PostgreSQL is not started by the tests: this machine kind runs one on
127.0.0.1:5432 (``CW_TEST_POSTGRES_URL`` overrides), and ``.ci/run`` starts
it if it is down. Each test gets a database of its own, dropped afterwards.

A missing server binary skips the tests that need it, unless
``CW_REQUIRE_SERVERS=1`` (set by ``.ci/run``): then it fails them. Tests that
stop or kill a server start their own with ``tests.servers.start_*(tmp_path)``
rather than touch these shared ones.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from tests.servers import (
    INFLUXD,
    MOSQUITTO,
    InfluxHandle,
    MosquittoHandle,
    require_binary,
    start_influxd,
    start_mosquitto,
)


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxHandle]:
    """One InfluxDB 1.x for the session: give each test its own database."""
    binary = require_binary(INFLUXD)
    with start_influxd(tmp_path_factory.mktemp("influxd"), binary=binary) as handle:
        yield handle


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoHandle]:
    """One Mosquitto for the session: give each test its own topics and client ids."""
    binary = require_binary(MOSQUITTO)
    with start_mosquitto(tmp_path_factory.mktemp("mosquitto"), binary=binary) as handle:
        yield handle


POSTGRES_ADMIN_URL = os.environ.get(
    "CW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, as a SQLAlchemy URL."""
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"cw_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}"
        if os.environ.get("CW_REQUIRE_SERVERS", "") not in ("", "0"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each registry test runs on both databases we support."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.db"
    url: str = request.getfixturevalue("postgres_url")
    return url
