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
        (lambda f: f["assets"][0].update(kind="car"), "assets.0.kind"),
        (lambda f: f["assets"][0]["site"].pop("radius_m"), "exactly one of radius_m or polygon"),
        (lambda f: f["assets"][0]["site"].update(lat=91), "assets.0.site.lat"),
        (lambda f: f["assets"][1]["site"]["polygon"].__setitem__(-1, [121.0, 31.005]), "closed"),
        (lambda f: f["assets"][1]["site"]["polygon"].pop(), "at least 4"),
        (lambda f: f["assets"][0].update(loan_id="nope"), "unknown loan 'nope'"),
        (lambda f: f["loans"][0].update(lender_id="x"), "unknown lender 'x'"),
        (lambda f: f["devices"].append({"id": "trk-1", "asset_id": "a1"}), "duplicate device"),
        (lambda f: f["devices"].append({"id": "z", "asset_id": "a9"}), "unknown asset 'a9'"),
        (lambda f: f.update(version=2), "version"),
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
