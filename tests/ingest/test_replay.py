"""Dead letters are replayable after a fix: register the unknown device, replay, stored."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from collateral.cli import main
from devices.wire import encode_message, telemetry_topic
from ingest.deadletter import dead_letter_counts
from ingest.mqtt import MqttEndpoint
from ingest.service import IngestConfig, IngestService
from ingest.store.embedded import EmbeddedStore
from registry import Registry, import_fleet
from registry.models import DeadLetter
from tests.ingest.test_service import publisher
from tests.integration.helpers import small_fleet, wait_for

pytestmark = pytest.mark.integration


def test_unknown_device_is_stored_after_it_is_registered_and_replayed(
        tmp_path: Path, mosquitto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    registry_url = f"sqlite:///{tmp_path}/registry.db"
    registry = Registry(registry_url)
    fleet = small_fleet("http://127.0.0.1:9")
    import_fleet(registry, fleet)
    store = EmbeddedStore(tmp_path / "telemetry.db")
    service = IngestService(MqttEndpoint(mosquitto.host, mosquitto.port), store, registry,
                            IngestConfig(client_id=f"ingest-{uuid.uuid4().hex[:6]}",
                                         flush_s=0.05, spool_dir=tmp_path, device_refresh_s=0))
    service.start()
    device = publisher(mosquitto)
    now = int(time.time() * 1000)
    try:
        batch = [{"seq": 1, "ts_ms": now - 1000}, {"seq": 2, "ts_ms": now, "lat": 95.0}]
        device.publish(telemetry_topic("new-1"), encode_message("new-1", batch),
                       qos=1).wait_for_publish(10)
        wait_for(lambda: dead_letter_counts(registry) == {"unknown_device": 1, "out_of_range": 1})
        fleet["assets"].append({**fleet["assets"][0], "id": "asset-2", "device_id": "new-1"})
        import_fleet(registry, fleet)  # the fix
        monkeypatch.setenv("CW_BROKER_URL", mosquitto.url)
        monkeypatch.setenv("CW_REGISTRY_URL", registry_url)
        assert main(["deadletters", "replay", "--reason", "unknown_device"]) == 0
        wait_for(lambda: store.count("asset-2") == 1)
        # the out-of-range reading is bad in its own right: dead-lettered again
        wait_for(lambda: dead_letter_counts(registry) == {"unknown_device": 1, "out_of_range": 2})
        with registry.session() as session:
            replayed = session.scalars(select(DeadLetter).where(
                DeadLetter.replayed_at.is_not(None))).all()
            assert [r.reason for r in replayed] == ["unknown_device"]
        assert main(["deadletters", "replay", "--reason", "unknown_device"]) == 0
        time.sleep(0.3)
        assert store.count("asset-2") == 1  # already replayed: not published again
    finally:
        device.disconnect()
        device.loop_stop()
        service.stop()
        store.close()
        registry.close()
