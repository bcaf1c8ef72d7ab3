"""The test servers themselves: they start, restart with their data, and stop clean."""

from __future__ import annotations

import queue
import socket
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers import (
    INFLUXD,
    MOSQUITTO,
    InfluxHandle,
    MosquittoHandle,
    free_port,
    require_binary,
    start_influxd,
    start_mosquitto,
)

pytestmark = pytest.mark.integration


def _retained(handle: MosquittoHandle, topic: str) -> bytes:
    """The retained message on a topic, read by a fresh client."""
    got: queue.Queue[bytes] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="reader")
    client.on_message = lambda _c, _u, message: got.put(bytes(message.payload))
    client.connect(handle.host, handle.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        return got.get(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()


def _publish_retained(handle: MosquittoHandle, topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="writer")
    client.connect(handle.host, handle.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()


def test_free_ports_are_free_and_never_the_system_ones() -> None:
    port = free_port()
    assert port not in (1883, 8086)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_mosquitto_keeps_retained_messages_across_a_restart(tmp_path: Path) -> None:
    binary = require_binary(MOSQUITTO)
    with start_mosquitto(tmp_path, extra_conf="max_queued_messages 5000", binary=binary) as broker:
        assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
        assert "max_queued_messages 5000" in broker.config_path.read_text()
        _publish_retained(broker, "status/d1", b"online")
        broker.stop()  # a clean stop writes the persistence file
        assert not broker.running
        broker.start()
        assert _retained(broker, "status/d1") == b"online"
        broker.kill()
        assert not broker.running
    assert not broker.running


def test_influxd_keeps_its_data_across_a_kill(tmp_path: Path) -> None:
    binary = require_binary(INFLUXD)
    with start_influxd(tmp_path, binary=binary) as server:
        assert server.url == f"influxdb://127.0.0.1:{server.port}/collateral"
        with httpx.Client(base_url=server.http_url) as client:
            client.post("/query", params={"q": 'CREATE DATABASE "k"'})
            client.post("/write", params={"db": "k"}, content=b"m v=1 1000000000")
            server.kill()  # the WAL survives a crash
            server.start()
            answer = client.get("/query", params={"db": "k", "q": "SELECT COUNT(v) FROM m"})
    assert answer.json()["results"][0]["series"][0]["values"][0][1] == 1


def test_two_servers_share_a_tmp_path(tmp_path: Path, influxd: InfluxHandle) -> None:
    binary = require_binary(INFLUXD)
    with (
        start_influxd(tmp_path, binary=binary) as one,
        start_influxd(tmp_path, binary=binary) as two,
    ):
        assert one.root != two.root and one.port != two.port != influxd.port
