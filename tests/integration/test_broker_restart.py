"""A broker restart mid-stream loses nothing: every reading is stored exactly once,
and every malformed message is kept as a dead letter exactly once.

The broker is sized as deploy/mosquitto.conf sizes it. With Mosquitto's default
``max_queued_messages 1000`` this same test loses readings at the broker
("Outgoing messages are being dropped"), which is why we ship that file.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.wire import encode_message, telemetry_topic
from ingest.deadletter import dead_letter_counts
from ingest.mqtt import MqttEndpoint
from ingest.service import IngestConfig, IngestService
from ingest.store.embedded import EmbeddedStore
from registry import Registry, import_fleet
from tests.integration.helpers import small_fleet, wait_for
from tests.servers import start_mosquitto

pytestmark = pytest.mark.integration

SIZED_LIKE_DEPLOY = "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
N = 3000
BAD_EVERY = 50  # one malformed message after every 50th reading


def test_readings_survive_a_broker_restart_exactly_once(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path}/registry.db")
    import_fleet(registry, small_fleet("http://127.0.0.1:9"))
    store = EmbeddedStore(tmp_path / "telemetry.db")
    suffix = uuid.uuid4().hex[:6]
    with start_mosquitto(tmp_path / "broker", SIZED_LIKE_DEPLOY) as broker:
        ingest = IngestService(MqttEndpoint(broker.host, broker.port), store, registry,
                               IngestConfig(client_id=f"ingest-{suffix}", flush_s=0.05,
                                                 spool_dir=tmp_path))
        ingest.start()
        acked = threading.Semaphore(0)
        device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{suffix}",
                             clean_session=False)
        device.on_publish = lambda *_: acked.release()
        device.connect(broker.host, broker.port)
        device.loop_start()
        publisher = threading.Thread(target=publish, args=(device,))
        try:
            publisher.start()
            time.sleep(1.0)
            broker.stop()
            time.sleep(1.5)
            broker.start()
            publisher.join(60)
            assert all(acked.acquire(timeout=30) for _ in range(N + N // BAD_EVERY))
            wait_for(lambda: store.count("asset-1") == N, 60)
            wait_for(lambda: sum(dead_letter_counts(registry).values()) >= N // BAD_EVERY, 30)
            time.sleep(0.5)  # a late redelivery would show up here
            assert dead_letter_counts(registry) == {"not_json": N // BAD_EVERY}
            assert store.count("asset-1") == N
            assert ingest.stats.received >= N + N // BAD_EVERY  # redeliveries included
        finally:
            device.disconnect()
            device.loop_stop()
            ingest.stop()
            store.close()
            registry.close()


def publish(client: mqtt.Client) -> None:
    now = int(time.time() * 1000)
    for seq in range(1, N + 1):
        reading = {"seq": seq, "ts_ms": now - (N - seq) * 1000, "ignition": True}
        client.publish(telemetry_topic("cm-1"), encode_message("cm-1", [reading]), qos=1)
        if seq % BAD_EVERY == 0:
            client.publish(telemetry_topic("cm-1"), b'{"v": 1, "seq": %d' % seq, qos=1)
        time.sleep(0.001)
