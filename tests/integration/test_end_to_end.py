"""Real Mosquitto, real InfluxDB, real HTTP: a reading goes in, a signed webhook comes out."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from collateral.receiver import WebhookReceiver
from devices.wire import encode_message, telemetry_topic
from ingest.mqtt import MqttEndpoint
from ingest.service import IngestConfig, IngestService
from ingest.store import TelemetryStore, open_store
from monitor.service import MonitorConfig, MonitorService
from monitor.webhooks import WebhookDispatcher
from monitor.workers import coverage, read_beats
from registry import Registry, import_fleet
from registry.models import Alert, DeadLetter
from tests.integration.helpers import SECRET, small_fleet, wait_for

pytestmark = pytest.mark.integration

class Platform:
    def __init__(self, endpoint: MqttEndpoint, store: TelemetryStore, registry: Registry,
                 spool_dir: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.ingest = IngestService(endpoint, store, registry,
                                    IngestConfig(client_id=f"ingest-{suffix}", flush_s=0.05,
                                                 spool_dir=spool_dir))
        self.monitor = MonitorService(endpoint, registry,
                                      MonitorConfig(client_id=f"monitor-{suffix}", tick_s=0.1))
        self.dispatcher = WebhookDispatcher(registry)
        self.stop_dispatch = threading.Event()
        self.thread = threading.Thread(target=self.dispatcher.run_forever,
                                       args=(self.stop_dispatch,), daemon=True)

    def start(self) -> None:
        self.ingest.start()
        self.monitor.start()
        self.thread.start()

    def stop(self) -> None:
        self.ingest.stop()
        self.monitor.stop()
        self.stop_dispatch.set()
        self.thread.join(10)


@pytest.fixture()
def world(tmp_path: Path, mosquitto: Any, influxd: Any,
          registry_url: str) -> Iterator[dict[str, Any]]:
    receiver = WebhookReceiver({"lender-1": SECRET})
    base = receiver.start()
    registry = Registry(registry_url)  # SQLite and PostgreSQL
    import_fleet(registry, small_fleet(base))
    db = f"e2e_{uuid.uuid4().hex[:8]}"
    store = open_store(influxd.url.rsplit("/", 1)[0] + "/" + db, tmp_path)
    endpoint = MqttEndpoint(mosquitto.host, mosquitto.port)
    platform = Platform(endpoint, store, registry, tmp_path)
    platform.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:6]}")
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    try:
        yield {"registry": registry, "store": store, "receiver": receiver,
               "publisher": publisher, "platform": platform}
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        platform.stop()
        receiver.stop()
        store.close()
        registry.close()


def test_reading_is_stored_raises_an_alert_and_a_signed_webhook_arrives(
    world: dict[str, Any],
) -> None:
    now = int(time.time() * 1000)
    readings = [{"seq": 1, "ts_ms": now - 60_000, "lat": 31.23, "lon": 121.47, "gnss_fix": 3,
                 "hdop": 0.9, "ignition": True, "ext_power": True, "tamper": False},
                {"seq": 2, "ts_ms": now, "lat": 31.23, "lon": 121.47, "gnss_fix": 3,
                 "hdop": 0.9, "ignition": True, "ext_power": True, "tamper": True}]
    world["publisher"].publish(telemetry_topic("cm-1"), encode_message("cm-1", readings),
                               qos=1).wait_for_publish(10)
    store: TelemetryStore = world["store"]
    registry: Registry = world["registry"]
    receiver: WebhookReceiver = world["receiver"]

    wait_for(lambda: store.count("asset-1") == 2)
    last = store.last("asset-1")
    assert last is not None and last.ts_ms == now and last.values["tamper"] is True

    def tamper_alert_open() -> bool:
        with registry.session() as session:
            return session.scalar(select(Alert).where(Alert.kind == "tamper",
                                                      Alert.status == "open")) is not None

    wait_for(tamper_alert_open)
    # The alert's opening and the loan's warning change are sent side by side: either may
    # arrive first, so wait for the one this test reads.
    wait_for(lambda: bool(receiver.events("alert.opened")))
    stats = receiver.stats()
    assert stats["signature_failures"] == 0
    opened = receiver.events("alert.opened")
    assert opened and opened[0].body["data"]["asset_id"] == "asset-1"
    assert opened[0].body["data"]["kind"] == "tamper"
    assert opened[0].lender_id == "lender-1"
    # The running monitor says it watches every partition (the dashboard's coverage).
    platform: Platform = world["platform"]
    with registry.session() as session:
        mine = [b for b in read_beats(session) if b.client_id == platform.monitor.config.client_id]
    assert mine and coverage(mine, 16, datetime.now(UTC)).status == "ok"


def test_malformed_messages_become_dead_letters_and_are_acknowledged(
    world: dict[str, Any],
) -> None:
    publisher: mqtt.Client = world["publisher"]
    now = int(time.time() * 1000)
    bad = [
        ("telemetry/cm-1", b"{not json", "not_json"),
        ("telemetry/cm-1", encode_message("cm-1", [{"seq": 9, "ts_ms": now, "lat": 123.0}]),
         "out_of_range"),
        ("telemetry/cm-2", encode_message("cm-1", [{"seq": 9, "ts_ms": now}]), "topic_mismatch"),
        ("telemetry/ghost-9", encode_message("ghost-9", [{"seq": 1, "ts_ms": now}]),
         "unknown_device"),
    ]
    for topic, payload, _ in bad:
        publisher.publish(topic, payload, qos=1).wait_for_publish(10)
    registry: Registry = world["registry"]

    def dead_letters() -> list[tuple[str, str, bytes]]:
        with registry.session() as session:
            rows = session.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
            return [(r.topic, r.reason, r.payload) for r in rows]

    wait_for(lambda: len(dead_letters()) == len(bad))
    got = {(topic, reason) for topic, reason, _ in dead_letters()}
    assert got == {(topic, reason) for topic, _, reason in bad}
    raw = {reason: payload for _, reason, payload in dead_letters()}
    assert raw["not_json"] == b"{not json"
    assert json.loads(raw["out_of_range"])["lat"] == 123.0
    ingest = world["platform"].ingest
    assert ingest.stats.dead_letters["unknown_device"] == 1
    assert world["store"].count() == 0
