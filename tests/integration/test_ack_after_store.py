"""Ingest acknowledges a message only once the store has it.

A real ``collateral ingest`` process reads from a real Mosquitto while the
real InfluxDB is down, and is killed with SIGKILL. After InfluxDB comes back,
a new ingest process with the same MQTT session gets every message again from
the broker and stores each reading exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.wire import encode_message, telemetry_topic
from ingest.store import open_store
from registry import Registry, import_fleet
from tests.integration.helpers import small_fleet, wait_for
from tests.servers import start_influxd

pytestmark = pytest.mark.integration


def start_ingest(env: dict[str, str], client_id: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "collateral.cli", "ingest", "--client-id", client_id],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def test_unstored_messages_are_redelivered_after_a_crash(tmp_path: Path, mosquitto: Any) -> None:
    registry_url = f"sqlite:///{tmp_path}/registry.db"
    registry = Registry(registry_url)
    import_fleet(registry, small_fleet("http://127.0.0.1:9"))
    registry.close()
    with start_influxd(tmp_path / "influx") as influx:
        env = {**os.environ, "CW_BROKER_URL": mosquitto.url, "CW_STORE_URL": influx.url,
               "CW_REGISTRY_URL": registry_url, "CW_DATA_DIR": str(tmp_path)}
        client_id = f"ingest-{uuid.uuid4().hex[:8]}"
        log = tmp_path / "ingest.log"
        first = start_ingest(env, client_id, log)
        store = open_store(influx.url, tmp_path)
        try:
            wait_for(lambda: "subscribed" in log.read_text(), 30)
            influx.stop()
            publish_readings(mosquitto, 5)
            wait_for(lambda: "store unavailable" in log.read_text(), 30)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            influx.start()
            assert store.count("asset-1") == 0  # nothing reached the store before the crash
            second = start_ingest(env, client_id, log)
            try:
                wait_for(lambda: store.count("asset-1") == 5, 60)
                time.sleep(1.0)
                assert store.count("asset-1") == 5
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
            store.close()


def publish_readings(broker: Any, n: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:6]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    now = int(time.time() * 1000)
    for seq in range(1, n + 1):
        payload = encode_message("cm-1", [{"seq": seq, "ts_ms": now - (n - seq) * 60_000,
                                           "lat": 31.23, "lon": 121.47, "ignition": True}])
        client.publish(telemetry_topic("cm-1"), payload, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
