"""The monitor follows the registry: a released pledge's detector state is dropped."""

from __future__ import annotations

import copy
from pathlib import Path

from ingest.mqtt import MqttEndpoint
from monitor.service import MonitorService
from registry import Registry, import_fleet
from registry.models import Asset, Device
from tests.integration.helpers import small_fleet
from tests.monitor.factories import T0, make_reading


def test_refresh_drops_state_of_assets_no_longer_pledged(tmp_path: Path) -> None:
    fleet = small_fleet("http://127.0.0.1:9")
    second = copy.deepcopy(fleet["assets"][0])
    second.update(id="asset-2", device_id="cm-2")
    fleet["assets"].append(second)
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        import_fleet(registry, fleet)
        service = MonitorService(MqttEndpoint("127.0.0.1", 1), registry)  # never started
        service.refresh_pledges()
        for asset_id, device_id in (("asset-1", "cm-1"), ("asset-2", "cm-2")):
            pledge = service.pledges[asset_id]
            service.engine.observe(make_reading(T0, device_id=device_id, seq=1), pledge)
        assert service.engine.asset_ids() == {"asset-1", "asset-2"}

        with registry.session() as session:
            session.delete(session.get(Device, "cm-2"))
            session.flush()
            session.delete(session.get(Asset, "asset-2"))
        service.refresh_pledges()
        assert service.engine.asset_ids() == {"asset-1"}
        assert set(service.pledges) == {"asset-1"}
    finally:
        registry.close()
