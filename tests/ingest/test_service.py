"""The ingest worker against a real Mosquitto: dedup, replayed sequence numbers,
shared subscriptions and the Prometheus endpoint."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.wire import encode_message, telemetry_topic
from ingest.deadletter import dead_letter_counts
from ingest.mqtt import MqttEndpoint
from ingest.receive import Received
from ingest.service import IngestConfig, IngestService
from ingest.store.embedded import EmbeddedStore
from registry import Registry, import_fleet
from tests.integration.helpers import small_fleet, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture()
def parts(tmp_path: Path) -> Iterator[tuple[Registry, EmbeddedStore]]:
    registry = Registry(f"sqlite:///{tmp_path}/registry.db")
    import_fleet(registry, small_fleet("http://127.0.0.1:9"))
    store = EmbeddedStore(tmp_path / "telemetry.db")
    yield registry, store
    store.close()
    registry.close()


def publisher(broker: Any) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:6]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def reading(seq: int, ts_ms: int) -> bytes:
    return encode_message("cm-1", [{"seq": seq, "ts_ms": ts_ms, "ignition": True}])


def test_redelivery_is_dropped_and_a_replayed_seq_is_a_dead_letter(
        tmp_path: Path, mosquitto: Any, parts: tuple[Registry, EmbeddedStore]) -> None:
    registry, store = parts
    config = IngestConfig(client_id=f"ingest-{uuid.uuid4().hex[:6]}", flush_s=0.05,
                          spool_dir=tmp_path, metrics_port=0)
    service = IngestService(MqttEndpoint(mosquitto.host, mosquitto.port), store, registry, config)
    service.start()
    device = publisher(mosquitto)
    now = int(time.time() * 1000)
    try:
        for payload in (reading(1, now - 2000), reading(2, now - 1000)):
            device.publish(telemetry_topic("cm-1"), payload, qos=1).wait_for_publish(10)
        wait_for(lambda: store.count("asset-1") == 2)
        device.publish(telemetry_topic("cm-1"), reading(1, now - 2000), qos=1)  # redelivered
        device.publish(telemetry_topic("cm-1"), reading(2, now), qos=1)  # seq 2 again, new time
        wait_for(lambda: dead_letter_counts(registry) == {"replayed_seq": 1})
        wait_for(lambda: service.stats.duplicates == 1)
        assert store.count("asset-1") == 2
        metrics = httpx.get(f"http://127.0.0.1:{service.metrics_port}/metrics").text
        assert "cw_ingest_duplicates_total 1.0" in metrics
        assert 'cw_ingest_dead_letters_total{reason="replayed_seq"} 1.0' in metrics
        assert "cw_ingest_readings_stored_total 2.0" in metrics
        assert "cw_ingest_messages_received_total 4.0" in metrics
        assert "cw_ingest_store_write_seconds_count" in metrics
    finally:
        device.disconnect()
        device.loop_stop()
        service.stop()


@pytest.mark.parametrize("protocol", [5, 4])  # Mosquitto serves $share to 3.1.1 clients too
def test_two_workers_in_a_share_group_split_the_load(
        tmp_path: Path, mosquitto: Any, parts: tuple[Registry, EmbeddedStore],
        protocol: int) -> None:
    registry, store = parts
    group = f"g{uuid.uuid4().hex[:6]}"
    endpoint = MqttEndpoint(mosquitto.host, mosquitto.port, protocol=protocol)
    workers = [IngestService(endpoint, store, registry,
                             IngestConfig(client_id=f"{group}-{i}", share_group=group,
                                          flush_s=0.05, spool_dir=tmp_path))
               for i in range(2)]
    for worker in workers:
        worker.start()
    device = publisher(mosquitto)
    now = int(time.time() * 1000)
    try:
        for seq in range(1, 201):
            device.publish(telemetry_topic("cm-1"), reading(seq, now - 10_000 + seq), qos=1)
        wait_for(lambda: store.count("asset-1") == 200)
        wait_for(lambda: sum(w.stats.received for w in workers) == 200)
        assert all(w.stats.received > 20 for w in workers), [w.stats for w in workers]
    finally:
        device.disconnect()
        device.loop_stop()
        for worker in workers:
            worker.stop()


def test_a_full_inbox_holds_the_network_thread_until_the_writer_takes_one(
        tmp_path: Path, parts: tuple[Registry, EmbeddedStore]) -> None:
    registry, store = parts
    service = IngestService(MqttEndpoint("127.0.0.1", 9), store, registry,
                            IngestConfig(inflight=2, spool_dir=tmp_path))
    message = Received("telemetry/cm-1", b"{}", 1, 1, False)
    service._enqueue(0, [message])
    service._enqueue(0, [message])
    third = threading.Thread(target=service._enqueue, args=(0, [message, message]))
    third.start()
    third.join(0.3)
    assert third.is_alive() and service._inbox.qsize() == 2  # held: paho stops reading
    service._take(1)
    third.join(5)
    assert not third.is_alive() and service._inbox.qsize() == 2
    assert service._queued == 3  # counted in messages, not in reads
    service.stop()  # never started: closes the spool and the metrics


class GatedStore:
    """The embedded store behind a gate: the first write waits until the test opens it."""

    def __init__(self, inner: EmbeddedStore) -> None:
        self.inner, self.gate, self.writes = inner, threading.Event(), 0

    def write(self, points: Any) -> None:
        self.writes += 1
        self.gate.wait(30)
        self.inner.write(points)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_next_batch_is_decoded_while_one_is_written_and_a_redelivery_then_is_a_duplicate(
        tmp_path: Path, mosquitto: Any, parts: tuple[Registry, EmbeddedStore]) -> None:
    registry, inner = parts
    store = GatedStore(inner)
    config = IngestConfig(client_id=f"ingest-{uuid.uuid4().hex[:6]}", flush_s=0.05,
                          spool_dir=tmp_path)
    service = IngestService(MqttEndpoint(mosquitto.host, mosquitto.port), store,  # type: ignore[arg-type]
                            registry, config)
    service.start()
    device = publisher(mosquitto)
    now = int(time.time() * 1000)
    try:
        device.publish(telemetry_topic("cm-1"), reading(1, now - 2000), qos=1)
        wait_for(lambda: store.writes == 1)  # held in the store
        device.publish(telemetry_topic("cm-1"), reading(1, now - 2000), qos=1)  # redelivered
        device.publish(telemetry_topic("cm-1"), reading(2, now - 1000), qos=1)
        wait_for(lambda: service._queued == 0 and service.stats.received == 0)  # decoded
        assert inner.count("asset-1") == 0
        store.gate.set()
        wait_for(lambda: service.stats.received == 3)
        assert inner.count("asset-1") == 2
        assert service.stats.duplicates == 1 and store.writes == 2
    finally:
        store.gate.set()
        device.disconnect()
        device.loop_stop()
        service.stop()
