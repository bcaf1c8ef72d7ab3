from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from registry import Registry, RegistryError, export_fleet, import_fleet, import_fleet_file
from registry.models import Device


def fleet() -> dict[str, Any]:
    return {
        "version": 1,
        "lenders": [{"id": "l1", "name": "Harbour Bank", "webhook_url": "http://127.0.0.1:1/w",
                     "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
        "loans": [{"id": "n1", "lender_id": "l1", "borrower": "Acme", "principal": 1e6,
                   "currency": "CNY"}],
        "assets": [
            {"id": "a1", "kind": "truck", "name": "T1", "loan_id": "n1",
             "site": {"lat": 31.2, "lon": 121.4, "radius_m": 200000}, "device_id": "trk-1"},
            {"id": "a2", "kind": "plant", "name": "P1", "loan_id": "n1",
             "site": {"lat": 31.0, "lon": 121.0,
                      "polygon": [[121.0, 31.0], [121.01, 31.0], [121.01, 31.01], [121.0, 31.0]]},
             "cadence_s": 60, "idle_after_s": 3600},
        ],
        "devices": [{"id": "plt-1", "asset_id": "a2"}],
        "users": [],
        "simulation": {"incidents": [{"kind": "idle", "asset_id": "a2", "start_s": 10}]},
    }


@pytest.fixture()
def registry(registry_url: str) -> Iterator[Registry]:
    reg = Registry(registry_url)
    yield reg
    reg.close()


def test_import_export_round_trip(registry: Registry) -> None:
    summary = import_fleet(registry, fleet())
    assert (summary.lenders, summary.loans, summary.assets, summary.devices) == (1, 1, 2, 2)
    exported = export_fleet(registry)
    again = Registry("sqlite://")
    import_fleet(again, exported)
    assert export_fleet(again) == exported
    assert exported["assets"][1]["site"]["polygon"][1] == [121.01, 31.0]
    assert "simulation" not in exported  # ground truth never enters the registry
    again.close()


def test_import_is_an_upsert(registry: Registry) -> None:
    import_fleet(registry, fleet())
    changed = fleet()
    changed["assets"][0]["name"] = "Renamed"
    import_fleet(registry, changed)
    names = {a["id"]: a["name"] for a in export_fleet(registry)["assets"]}
    assert names == {"a1": "Renamed", "a2": "P1"}
    with registry.session() as session:
        assert len(session.scalars(select(Device)).all()) == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f["assets"][0].update(kind="Big car"), "assets.0.kind"),
        (lambda f: f["assets"][0].update(planned_downtime=[
            {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}]),
         "end must be after"),
        (lambda f: f["assets"][0].update(approved_moves=[
            {"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00"}]), "time zone"),
        (lambda f: f["assets"][0].update(operating_area={
            "type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
         "not valid"),
        (lambda f: f["users"].append({"id": "u", "name": "U", "role": "king"}), "users.0.role"),
        (lambda f: f["loans"][0].update(borrower_id="b9"), "unknown borrower 'b9'"),
        (lambda f: f["assets"][0]["site"].pop("radius_m"), "exactly one of radius_m or polygon"),
        (lambda f: f["assets"][0]["site"].update(lat=91), "assets.0.site.lat"),
        (lambda f: f["assets"][1]["site"]["polygon"].__setitem__(-1, [121.0, 31.005]), "closed"),
        (lambda f: f["assets"][1]["site"]["polygon"].pop(), "at least 4"),
        (lambda f: f["assets"][0].update(loan_id="nope"), "unknown loan 'nope'"),
        (lambda f: f["loans"][0].update(lender_id="x"), "unknown lender 'x'"),
        (lambda f: f["devices"].append({"id": "trk-1", "asset_id": "a1"}), "duplicate device"),
        (lambda f: f["devices"].append({"id": "z", "asset_id": "a9"}), "unknown asset 'a9'"),
        (lambda f: f.update(version=2), "version"),
        (lambda f: f["lenders"][0].update(webhook_events=["alert.opened", "alert.opened"]),
         "names a type twice"),
    ],
)
def test_bad_fleet_is_refused_with_a_clear_error_and_nothing_written(
    registry: Registry, mutate: Any, message: str
) -> None:
    bad = fleet()
    mutate(bad)
    with pytest.raises(RegistryError, match=message):
        import_fleet(registry, bad)
    assert export_fleet(registry)["assets"] == []


def test_import_file_errors_name_the_file(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("version: [1\n")
    with pytest.raises(RegistryError, match="cannot read fleet file"):
        import_fleet_file(registry, path)
    path.write_text(yaml.safe_dump(fleet()))
    assert import_fleet_file(registry, path).assets == 2


PLEDGE_TERMS = """
version: 1
lenders: [{id: l1, name: Harbour Bank, organisation: harbour-group}]
borrowers: [{id: b1, lender_id: l1, name: Acme Haulage, contact: ops@acme.test}]
loans: [{id: n1, lender_id: l1, borrower: Acme Haulage, borrower_id: b1}]
assets:
  - id: ship-1
    kind: ship
    name: MV Blue
    loan_id: n1
    site: {lat: 31.2, lon: 121.4, radius_m: 150000}
    operating_area:
      type: Polygon
      coordinates: [[[120, 30], [125, 30], [125, 35], [120, 35], [120, 30]]]
    duty_schedule: {hours_per_week: 120}
    planned_downtime:
      - {start: 2026-01-01T00:00:00Z, end: 2026-01-03T00:00:00Z, reason: New Year}
    approved_moves:
      - {start: "2026-02-01T08:00:00+08:00", end: "2026-02-01T20:00:00+08:00", reason: dry dock}
  - {id: gen-1, kind: generator, name: Genset, loan_id: n1,
     site: {lat: 31.0, lon: 121.0, radius_m: 300}}
users: [{id: ana, name: Ana, role: analyst, lender_id: l1}]
"""


def test_pledge_terms_borrowers_and_users_round_trip(registry: Registry) -> None:
    summary = import_fleet(registry, yaml.safe_load(PLEDGE_TERMS))
    assert (summary.borrowers, summary.users, summary.assets) == (1, 1, 2)
    exported = export_fleet(registry)
    ship = exported["assets"][1]
    assert ship["planned_downtime"] == [
        {"start": "2026-01-01T00:00:00Z", "end": "2026-01-03T00:00:00Z", "reason": "New Year"}]
    assert ship["approved_moves"][0]["start"] == "2026-02-01T00:00:00Z"  # kept in UTC
    assert ship["operating_area"]["coordinates"][0][1] == [125.0, 30.0]
    assert ship["duty_schedule"] == {"hours_per_week": 120}
    assert exported["assets"][0]["kind"] == "generator"
    assert exported["loans"][0]["borrower_id"] == "b1"
    assert exported["lenders"][0]["organisation"] == "harbour-group"
    assert exported["users"] == [{"id": "ana", "name": "Ana", "role": "analyst",
                                  "lender_id": "l1"}]
    again = Registry("sqlite://")
    import_fleet(again, yaml.safe_load(yaml.safe_dump(exported)))
    assert export_fleet(again) == exported


def test_an_import_is_in_the_audit_log(registry: Registry) -> None:
    from registry.access import AuditEntry

    import_fleet(registry, fleet(), actor="ops")
    with registry.session() as session:
        [entry] = session.scalars(select(AuditEntry)).all()
        assert (entry.actor, entry.action) == ("ops", "registry.import")
        assert (entry.detail["assets"], entry.detail["devices"]) == (2, 2)
