"""Import and export the registry as a fleet file (YAML, ``version: 1``).

The format is the one ``devices.fleet`` generates; its ``simulation`` section
(the simulator's ground truth) is ignored here on purpose: the platform must
find incidents, not be told about them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from shapely.geometry import Polygon
from sqlalchemy import select

from registry.db import Registry, RegistryError
from registry.models import Asset, Device, Lender, Loan

__all__ = ["ImportSummary", "import_fleet", "import_fleet_file", "export_fleet", "parse_fleet"]

log = logging.getLogger(__name__)

AssetKind = Literal["truck", "construction", "ship", "plant"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteIn(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=2_000_000)
    polygon: list[tuple[float, float]] | None = Field(default=None, min_length=4, max_length=10_000)

    @model_validator(mode="after")
    def _one_shape(self) -> SiteIn:
        if (self.radius_m is None) == (self.polygon is None):
            raise ValueError("a site needs exactly one of radius_m or polygon")
        if self.polygon is not None:
            _check_polygon(self.polygon)
        return self


def _check_polygon(ring: list[tuple[float, float]]) -> None:
    if ring[0] != ring[-1]:
        raise ValueError("polygon ring must be closed (first point == last point)")
    for lon, lat in ring:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"polygon point ({lon}, {lat}) is not [lon, lat] in range")
    if not Polygon(ring).is_valid:
        raise ValueError("polygon is not valid (self-intersecting or degenerate)")


class LenderIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str
    webhook_url: str | None = None
    webhook_secret: str | None = None


class LoanIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    lender_id: str
    borrower: str
    principal: float | None = None
    currency: str | None = None


class AssetIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    kind: AssetKind
    name: str
    loan_id: str
    site: SiteIn
    cadence_s: float = Field(default=300.0, gt=0)
    idle_after_s: float = Field(default=12 * 3600.0, gt=0)
    geofence_dwell_s: float = Field(default=600.0, ge=0)
    device_id: str | None = None


class DeviceIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    asset_id: str


class FleetIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # e.g. the simulator's "simulation" section
    version: Literal[1]
    lenders: list[LenderIn]
    loans: list[LoanIn]
    assets: list[AssetIn]
    devices: list[DeviceIn] = []


@dataclass(frozen=True, slots=True)
class ImportSummary:
    lenders: int
    loans: int
    assets: int
    devices: int


def parse_fleet(data: Any) -> FleetIn:
    """Validate a fleet document; errors name the offending path."""
    try:
        fleet = FleetIn.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:10]
        )
        raise RegistryError(f"invalid fleet file: {problems}") from None
    _check_references(fleet)
    return fleet


def _check_references(fleet: FleetIn) -> None:
    lenders = _unique("lender", [x.id for x in fleet.lenders])
    loans = _unique("loan", [x.id for x in fleet.loans])
    assets = _unique("asset", [x.id for x in fleet.assets])
    devices = [x.id for x in fleet.devices] + [a.device_id for a in fleet.assets if a.device_id]
    _unique("device", devices)
    for loan in fleet.loans:
        if loan.lender_id not in lenders:
            raise RegistryError(f"loan {loan.id}: unknown lender {loan.lender_id!r}")
    for asset in fleet.assets:
        if asset.loan_id not in loans:
            raise RegistryError(f"asset {asset.id}: unknown loan {asset.loan_id!r}")
    for device in fleet.devices:
        if device.asset_id not in assets:
            raise RegistryError(f"device {device.id}: unknown asset {device.asset_id!r}")


def _unique(noun: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise RegistryError(f"duplicate {noun} id {item!r}")
        seen.add(item)
    return seen


def import_fleet(registry: Registry, data: Any) -> ImportSummary:
    """Insert or update everything in the fleet document, in one transaction."""
    fleet = parse_fleet(data)
    devices = list(fleet.devices) + [
        DeviceIn(id=a.device_id, asset_id=a.id) for a in fleet.assets if a.device_id
    ]
    with registry.session() as session:
        for lender in fleet.lenders:
            session.merge(Lender(**lender.model_dump()))
        for loan in fleet.loans:
            session.merge(Loan(**loan.model_dump()))
        session.flush()
        for asset in fleet.assets:
            values = asset.model_dump(exclude={"device_id", "site"})
            site = asset.site.model_dump(exclude_none=True)
            if "polygon" in site:
                site["polygon"] = [list(p) for p in site["polygon"]]
            session.merge(Asset(**values, site=site))
        session.flush()
        for device in devices:
            session.merge(Device(id=device.id, asset_id=device.asset_id))
    summary = ImportSummary(len(fleet.lenders), len(fleet.loans), len(fleet.assets), len(devices))
    log.info("registry import: %s", summary)
    return summary


def import_fleet_file(registry: Registry, path: Path) -> ImportSummary:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"cannot read fleet file {path}: {exc}") from None
    return import_fleet(registry, data)


def export_fleet(registry: Registry) -> dict[str, Any]:
    """The registry as a fleet document that ``import_fleet`` accepts."""
    with registry.session() as session:
        lenders = session.scalars(select(Lender).order_by(Lender.id)).all()
        loans = session.scalars(select(Loan).order_by(Loan.id)).all()
        assets = session.scalars(select(Asset).order_by(Asset.id)).all()
        devices = session.scalars(select(Device).order_by(Device.id)).all()
        return {
            "version": 1,
            "lenders": [_lender_out(x) for x in lenders],
            "loans": [_loan_out(x) for x in loans],
            "assets": [_asset_out(x) for x in assets],
            "devices": [{"id": d.id, "asset_id": d.asset_id} for d in devices],
        }


def _lender_out(x: Lender) -> dict[str, Any]:
    return {"id": x.id, "name": x.name, "webhook_url": x.webhook_url,
            "webhook_secret": x.webhook_secret}


def _loan_out(x: Loan) -> dict[str, Any]:
    return {"id": x.id, "lender_id": x.lender_id, "borrower": x.borrower,
            "principal": x.principal, "currency": x.currency}


def _asset_out(x: Asset) -> dict[str, Any]:
    return {"id": x.id, "kind": x.kind, "name": x.name, "loan_id": x.loan_id,
            "site": dict(x.site), "cadence_s": x.cadence_s, "idle_after_s": x.idle_after_s,
            "geofence_dwell_s": x.geofence_dwell_s}
