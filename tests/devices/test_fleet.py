"""The fleet file: generated fleets are valid, realistic, reproducible and round-trip."""

from __future__ import annotations

import base64
import copy
import io
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devices.fleet import FleetError, dump_fleet, generate_fleet, load_fleet, validate_fleet
from devices.geo import haversine_m
from devices.kinds.base import site_reach_m
from devices.schema import DEMO_INCIDENT_KINDS, KIND_SPECS


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    return generate_fleet(200, seed=42)


def test_generated_fleet_is_valid_and_reproducible(fleet: dict[str, Any]) -> None:
    assert validate_fleet(fleet) is fleet
    assert generate_fleet(200, seed=42) == fleet
    assert generate_fleet(200, seed=43) != fleet


def test_kind_mix_and_ids(fleet: dict[str, Any]) -> None:
    kinds = Counter(a["kind"] for a in fleet["assets"])
    assert kinds == {"truck": 80, "construction": 50, "ship": 30, "plant": 40}
    for asset in fleet["assets"]:
        spec = KIND_SPECS[asset["kind"]]
        assert asset["device_id"].startswith(spec.prefix + "-")
        assert asset["cadence_s"] == spec.cadence_s
        assert asset["idle_after_s"] == spec.idle_after_s


def test_loans_group_one_to_five_assets_of_one_kind(fleet: dict[str, Any]) -> None:
    by_loan: dict[str, list[str]] = {}
    for asset in fleet["assets"]:
        by_loan.setdefault(asset["loan_id"], []).append(asset["kind"])
    assert set(by_loan) == {loan["id"] for loan in fleet["loans"]}
    for kinds in by_loan.values():
        assert 1 <= len(kinds) <= 5
        assert len(set(kinds)) == 1


def test_lenders_have_standard_webhook_secrets(fleet: dict[str, Any]) -> None:
    assert [x["id"] for x in fleet["lenders"]] == ["lender-01", "lender-02", "lender-03"]
    for lender in fleet["lenders"]:
        assert lender["webhook_url"].endswith("/webhooks/" + lender["id"])
        assert lender["webhook_secret"].startswith("whsec_")
        assert len(base64.b64decode(lender["webhook_secret"][6:])) == 24


def test_sites_fit_their_kind(fleet: dict[str, Any]) -> None:
    polygons: Counter[str] = Counter()
    for asset in fleet["assets"]:
        site, kind = asset["site"], asset["kind"]
        low, high = KIND_SPECS[kind].site_radius_m
        if "polygon" in site:
            polygons[kind] += 1
            ring = site["polygon"]
            assert ring[0] == ring[-1] and len(ring) >= 5
            assert low * 0.5 <= site_reach_m(site) <= high
        else:
            assert low <= site["radius_m"] <= high
        assert 18 < site["lat"] < 42 and 110 < site["lon"] < 125  # China's coast
    assert polygons["truck"] == 0 and polygons["ship"] > 0 and polygons["construction"] > 0


def test_registry_importer_accepts_generated_fleets(fleet: dict[str, Any]) -> None:
    fleet_io = pytest.importorskip("registry.fleet_io")
    parsed = fleet_io.parse_fleet(copy.deepcopy(fleet))
    assert len(parsed.assets) == 200


def test_every_incident_kind_is_scripted_on_a_suitable_asset(fleet: dict[str, Any]) -> None:
    kinds = {a["id"]: a["kind"] for a in fleet["assets"]}
    incidents = fleet["simulation"]["incidents"]
    assert Counter(i["kind"] for i in incidents) == {k: 1 for k in DEMO_INCIDENT_KINDS}
    assert len({i["asset_id"] for i in incidents}) == len(incidents)
    for incident in incidents:
        assert 1800 <= incident["start_s"] <= 2400
        if incident["kind"] in ("relocation", "idle"):
            assert kinds[incident["asset_id"]] in ("construction", "plant")
    relocation = next(i for i in incidents if i["kind"] == "relocation")
    assert 5000 <= relocation["params"]["distance_m"] <= 10_000
    assert 20 <= relocation["params"]["tow_speed_kmh"] <= 40


def test_bigger_fleets_get_more_incidents() -> None:
    incidents = generate_fleet(300, seed=1)["simulation"]["incidents"]
    assert Counter(i["kind"] for i in incidents) == {k: 2 for k in DEMO_INCIDENT_KINDS}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_tiny_fleets_script_what_fits(n: int) -> None:
    fleet = generate_fleet(n, seed=n)
    assert len(fleet["assets"]) == n
    assert len(fleet["simulation"]["incidents"]) == min(n, 4)


def test_without_incidents_there_is_no_simulation_section() -> None:
    assert "simulation" not in generate_fleet(10, seed=1, incidents=False)


def test_ships_have_open_water_inside_their_area(fleet: dict[str, Any]) -> None:
    for asset in (a for a in fleet["assets"] if a["kind"] == "ship"):
        assert site_reach_m(asset["site"]) >= 90_000


def test_trucks_depots_are_near_industrial_zones(fleet: dict[str, Any]) -> None:
    from devices.geo import REGIONS

    zones = [p for r in REGIONS for p in r.industrial]
    for asset in (a for a in fleet["assets"] if a["kind"] == "truck"):
        lat, lon = asset["site"]["lat"], asset["site"]["lon"]
        assert min(haversine_m(lat, lon, z.lat, z.lon) for z in zones) <= 3100


def test_round_trip_through_yaml_stream_and_file(fleet: dict[str, Any], tmp_path: Path) -> None:
    stream = io.StringIO()
    dump_fleet(fleet, stream)
    assert "version: 1" in stream.getvalue()
    path = tmp_path / "fleet.yaml"
    path.write_text(stream.getvalue())
    assert load_fleet(path) == fleet
    dump_fleet(fleet, tmp_path / "again.yaml")
    assert load_fleet(str(tmp_path / "again.yaml")) == fleet


def _asset(fleet: dict[str, Any], i: int = 0) -> dict[str, Any]:
    asset: dict[str, Any] = fleet["assets"][i]
    return asset


BAD: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda f: f.update(version=2), "unsupported fleet version 2"),
    (lambda f: f.pop("assets"), "fleet has no assets"),
    (lambda f: _asset(f).update(kind="boat"), "assets[0] (asset-0001): unknown kind 'boat'"),
    (lambda f: _asset(f).pop("site"), "asset has no site"),
    (lambda f: _asset(f, 1).update(id="asset-0001"), "duplicate asset id 'asset-0001'"),
    (lambda f: _asset(f, 1).update(device_id=_asset(f)["device_id"]), "duplicate device id"),
    (lambda f: _asset(f).update(loan_id="loan-9999"), "unknown loan 'loan-9999'"),
    (lambda f: f["loans"][0].update(lender_id="lender-99"), "unknown lender 'lender-99'"),
    (lambda f: f["lenders"].append(dict(f["lenders"][0])), "duplicate lender id"),
    (lambda f: _asset(f)["site"].update(polygon=[[121.0, 31.0]] * 4),
     "exactly one of radius_m or polygon"),
    (lambda f: _asset(f)["site"].update(lat=123.0), "site.lat must be a number in [-90, 90]"),
    (lambda f: _asset(f).update(cadence_s=0), "cadence_s must be a positive number"),
    (lambda f: f.setdefault("devices", []).append({"id": "x-1", "asset_id": "asset-9"}),
     "unknown asset 'asset-9'"),
    (lambda f: f["simulation"]["incidents"][0].update(kind="theft"), "unknown incident kind"),
    (lambda f: f["simulation"]["incidents"][0].update(asset_id="asset-0404"),
     "asset 'asset-0404' is unknown or has no device"),
    (lambda f: f["simulation"]["incidents"][0].update(start_s=-1), "start_s must be"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD)
def test_bad_fleets_get_clear_errors(mutate: Callable[[dict[str, Any]], Any],
                                     message: str) -> None:
    fleet = generate_fleet(8, seed=3)
    mutate(fleet)
    with pytest.raises(FleetError) as err:
        validate_fleet(fleet)
    assert message in str(err.value)


def test_polygon_ring_errors() -> None:
    fleet = generate_fleet(8, seed=3)
    site = _asset(fleet)["site"]
    lat, lon = site.pop("lat"), site.pop("lon")
    site.pop("radius_m", None)
    site.pop("polygon", None)
    site.update(lat=lat, lon=lon, polygon=[[lon, lat], [lon + 0.01, lat], [lon, lat + 0.01],
                                           [lon + 0.01, lat + 0.01]])
    with pytest.raises(FleetError, match="must be closed"):
        validate_fleet(fleet)
    site["polygon"] = [[lat, lon], [lat + 0.01, lon], [lat, lon + 0.01], [lat, lon]]
    with pytest.raises(FleetError, match=r"out of range \(points are \[lon, lat\]\)"):
        validate_fleet(fleet)
    site.update(lat=lon - 100, lon=lat)  # swapped, yet both in range
    site["polygon"] = [[lon - 100, lat], [lon - 99.99, lat], [lon - 100, lat + 0.01],
                       [lon - 100, lat]]
    with pytest.raises(FleetError, match=r"far from the anchor; points are \[lon, lat\]"):
        validate_fleet(fleet)


def test_load_fleet_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="cannot read fleet file"):
        load_fleet(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nassets: [\n")
    with pytest.raises(FleetError, match="cannot read fleet file"):
        load_fleet(broken)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("- just\n- a list\n")
    with pytest.raises(FleetError, match="wrong.yaml: a fleet document must be a mapping"):
        load_fleet(wrong)


def test_dump_refuses_invalid_fleets() -> None:
    fleet = generate_fleet(4, seed=1)
    _asset(fleet).update(kind="boat")
    with pytest.raises(FleetError):
        dump_fleet(fleet, io.StringIO())
