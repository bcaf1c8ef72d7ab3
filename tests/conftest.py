"""Shared fixtures: real servers started once per test session.

A missing server binary skips the tests that need it, unless
``CW_REQUIRE_SERVERS=1`` (set by ``.ci/run``): then it fails them. Tests that
stop or kill a server start their own with ``tests.servers.start_*(tmp_path)``
rather than touch these shared ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
