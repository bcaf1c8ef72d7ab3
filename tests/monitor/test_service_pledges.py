"""The monitor follows the registry: a released pledge's detector state is dropped."""

from __future__ import annotations

import copy
from pathlib import Path

from ingest.mqtt import MqttEndpoint
from monitor.pledges import load_pledges
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


def test_pledges_carry_operating_area_and_planned_windows(tmp_path: Path) -> None:
    fleet = small_fleet("http://127.0.0.1:9")
    asset = fleet["assets"][0]
    lat, lon = asset["site"]["lat"], asset["site"]["lon"]
    ring = [[lon - 0.1, lat - 0.1], [lon + 0.1, lat - 0.1], [lon + 0.1, lat + 0.1],
            [lon - 0.1, lat + 0.1], [lon - 0.1, lat - 0.1]]
    asset["operating_area"] = {"type": "Polygon", "coordinates": [ring]}
    asset["planned_downtime"] = [{"start": "2025-12-24T00:00:00Z", "end": "2025-12-27T00:00:00Z",
                                  "reason": "holiday"}]
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        import_fleet(registry, fleet)
        pledge = load_pledges(registry)["asset-1"]
    finally:
        registry.close()
    assert pledge.site is not None and pledge.site.polygon is not None
    assert len(pledge.site.polygon) == 5 and pledge.site.lat == lat
    assert pledge.planned_downtime == ((1_766_534_400_000, 1_766_793_600_000),)
    assert pledge.approved_moves == ()
