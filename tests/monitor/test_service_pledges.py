"""The monitor follows the registry: a released pledge's detector state is dropped, a closed
loan's collateral is no longer watched and what was open on it is resolved, and a worker
tracks only the alerts of its own partitions."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ingest.handoff import AssetReading, encode_handoff, partition_of
from monitor.model import AlertKind, Finding
from monitor.pledges import PledgeLoader
from monitor.service import MonitorConfig, MonitorService
from registry import Registry, export_fleet
from registry.access import AlertEvent as AlertHistory
from registry.models import Alert as AlertRow
from registry.models import Asset, Device, Loan, OutboxEvent
from tests.integration.helpers import small_fleet
from tests.monitor.conftest import RegistryWith
from tests.monitor.factories import MIN, T0, make_reading, unstarted_monitor


def _two_asset_fleet() -> dict[str, object]:
    fleet = small_fleet("http://127.0.0.1:9")
    second = copy.deepcopy(fleet["assets"][0])
    second.update(id="asset-2", device_id="cm-2")
    fleet["assets"].append(second)
    return fleet


def _set_loan_status(registry: Registry, status: str) -> None:
    with registry.session() as session:
        loan = session.get(Loan, "loan-1")
        assert loan is not None
        loan.status = status  # as the API does it
        loan.closed_at = datetime.now(UTC) if status == "closed" else None


def _warning_level(registry: Registry) -> str:
    with registry.session() as session:
        loan = session.get(Loan, "loan-1")
        assert loan is not None
        return loan.warning_level


def _open_tamper(service: MonitorService, asset_id: str, at_ms: int) -> None:
    finding = Finding(asset_id, AlertKind.TAMPER, True, at_ms, "tracker case opened")
    service.alerts.commit(service._apply([finding]), service.pledges)


def test_refresh_drops_state_of_assets_no_longer_pledged(registry_with: RegistryWith) -> None:
    fleet = _two_asset_fleet()
    registry = registry_with(fleet)
    service = unstarted_monitor(registry)
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


def test_pledges_carry_operating_area_and_planned_windows(registry_with: RegistryWith) -> None:
    fleet = small_fleet("http://127.0.0.1:9")
    asset = fleet["assets"][0]
    lat, lon = asset["site"]["lat"], asset["site"]["lon"]
    ring = [[lon - 0.1, lat - 0.1], [lon + 0.1, lat - 0.1], [lon + 0.1, lat + 0.1],
            [lon - 0.1, lat + 0.1], [lon - 0.1, lat - 0.1]]
    asset["operating_area"] = {"type": "Polygon", "coordinates": [ring]}
    asset["planned_downtime"] = [{"start": "2025-12-24T00:00:00Z", "end": "2025-12-27T00:00:00Z",
                                  "reason": "holiday"}]
    registry = registry_with(fleet)
    pledge = PledgeLoader().load(registry).watched["asset-1"]
    assert pledge.site is not None and pledge.site.polygon is not None
    assert len(pledge.site.polygon) == 5 and pledge.site.lat == lat
    assert pledge.planned_downtime == ((1_766_534_400_000, 1_766_793_600_000),)
    assert pledge.approved_moves == ()


def test_closing_the_loan_releases_its_collateral_and_resolves_its_alerts(
        registry_with: RegistryWith, caplog: pytest.LogCaptureFixture) -> None:
    registry = registry_with()
    service = unstarted_monitor(registry)
    service.refresh_pledges()
    service.engine.observe(make_reading(T0, device_id="cm-1", seq=1),
                           service.pledges["asset-1"])
    _open_tamper(service, "asset-1", T0)
    assert _warning_level(registry) == "warning"

    _set_loan_status(registry, "closed")
    service.clock.advance(T0 + 5 * MIN)
    service.refresh_pledges()
    assert "asset-1" not in service.pledges and service.engine.asset_ids() == set()
    assert service.alerts.open == {}
    with registry.session() as session:
        row = session.scalars(select(AlertRow)).one()
        assert (row.status, row.state["note"]) == (
            "resolved", "loan loan-1 closed: collateral released")
        sent = session.scalars(select(OutboxEvent)
                               .where(OutboxEvent.lender_id == "lender-1")).all()
        events = [e.event_type for e in sent]
        released = [json.loads(e.payload)["data"] for e in sent
                    if e.event_type == "alert.resolved"]
        history = session.execute(select(AlertHistory.action, AlertHistory.note)
                                  .where(AlertHistory.alert_id == row.id)
                                  .order_by(AlertHistory.id)).all()
    assert events.count("alert.resolved") == 1 and "loan.warning_changed" in events
    assert (released[0]["why"], released[0]["resolved_by"]) == (
        "loan loan-1 closed: collateral released", None)
    assert [tuple(h) for h in history][1:] == [
        ("alert.resolved", "loan loan-1 closed: collateral released")]
    assert _warning_level(registry) == "normal"

    # Its tracker may go on reporting: nothing is judged, nothing is logged as unknown.
    payload = encode_handoff([AssetReading("asset-1", make_reading(
        T0 + 10 * MIN, device_id="cm-1", seq=2, lat=40.0, lon=10.0))])
    with caplog.at_level(logging.WARNING, logger="monitor.service"):
        assert service._observe(payload) == []
    assert service.readings_seen == 0 and "unknown asset" not in caplog.text
    service.refresh_pledges()  # a second refresh has nothing left to resolve
    with registry.session() as session:
        resolved = session.scalars(select(OutboxEvent.id)
                                   .where(OutboxEvent.event_type == "alert.resolved")).all()
    assert len(resolved) == 1

    _set_loan_status(registry, "active")  # reopened (closed by mistake): watched again
    service.refresh_pledges()
    assert "asset-1" in service.pledges


def test_a_loan_closed_while_the_monitor_was_down_is_released_at_start(
        registry_with: RegistryWith) -> None:
    registry = registry_with()
    before = unstarted_monitor(registry)
    before.prepare()
    _open_tamper(before, "asset-1", T0)
    before._checkpoint()
    _set_loan_status(registry, "closed")

    after = unstarted_monitor(registry)
    after.prepare()  # what start() does before it connects
    assert after.alerts.open == {} and after.pledges == {}
    with registry.session() as session:
        assert session.scalars(select(AlertRow.status)).one() == "resolved"


def test_a_closed_loan_round_trips_through_export_and_import(
        registry_with: RegistryWith) -> None:
    registry = registry_with()
    _set_loan_status(registry, "closed")
    exported = export_fleet(registry)
    assert exported["loans"][0]["status"] == "closed"
    assert exported["loans"][0]["closed_at"].endswith("Z")  # UTC, said so (SQLite drops it)
    book = PledgeLoader().load(registry_with(exported, name="other.db"))
    assert book.watched == {} and set(book.released) == {"asset-1"}


def test_a_worker_tracks_only_the_open_alerts_of_its_partitions(
        registry_with: RegistryWith) -> None:
    mine, theirs = partition_of("asset-1", 16), partition_of("asset-2", 16)
    assert mine != theirs  # the test needs the two assets in different partitions
    registry = registry_with(_two_asset_fleet())
    everything = unstarted_monitor(registry)
    everything.refresh_pledges()
    for asset_id in ("asset-1", "asset-2"):
        _open_tamper(everything, asset_id, T0)
    worker = unstarted_monitor(registry, MonitorConfig(client_id="w1", partitions=[mine]))
    worker.prepare()
    # Another worker's alert is ticked (reminded, resolved) by that worker alone.
    assert set(worker.alerts.open) == {("asset-1", AlertKind.TAMPER)}


def test_a_refresh_parses_only_the_pledges_that_changed(registry_with: RegistryWith) -> None:
    registry = registry_with(_two_asset_fleet())
    loader = PledgeLoader()
    first = loader.load(registry).watched
    with registry.session() as session:
        asset = session.get(Asset, "asset-2")
        assert asset is not None
        asset.geofence_dwell_s = 1200.0
        asset.site = {**asset.site, "radius_m": 900}
    second = loader.load(registry).watched
    assert second["asset-1"] is first["asset-1"]  # the same object: nothing re-read
    changed = second["asset-2"]
    assert changed is not first["asset-2"] and changed.geofence_dwell_s == 1200.0
    assert changed.site is not None and changed.site.radius_m == 900
    assert second == PledgeLoader().load(registry).watched  # what a fresh read gives
