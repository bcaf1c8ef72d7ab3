"""Import and export the registry as a fleet file (YAML, ``version: 1``).

The format is the one ``devices.fleet`` generates; its ``simulation`` section
(the simulator's ground truth) is ignored here on purpose: the platform must
find incidents, not be told about them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.access import Borrower, Role, User
from registry.audit import record_audit
from registry.db import Registry, RegistryError, iso_z
from registry.geo import MAX_VERTICES, PolygonGeometry, check_ring
from registry.models import WEBHOOK_EVENT_TYPES, Asset, Device, Lender, Loan, LoanStatus

__all__ = ["ImportSummary", "import_fleet", "import_fleet_file", "export_fleet", "parse_fleet"]

log = logging.getLogger(__name__)

# Kinds grow with the simulator (issue 3); the registry only needs a sane name.
AssetKind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
WebhookEvent = Literal[WEBHOOK_EVENT_TYPES]  # type: ignore[valid-type]  # one of them


def _each_once(events: list[str]) -> list[str]:
    if len(set(events)) != len(events):
        raise ValueError("events names a type twice")
    return events


#: The event types a lender's webhook takes (fleet files and the API alike): one or more,
#: each once.
WebhookEvents = Annotated[list[WebhookEvent], Field(min_length=1), AfterValidator(_each_once)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteIn(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=2_000_000)
    polygon: list[tuple[float, float]] | None = Field(default=None, min_length=4,
                                                      max_length=MAX_VERTICES)

    @model_validator(mode="after")
    def _one_shape(self) -> SiteIn:
        if (self.radius_m is None) == (self.polygon is None):
            raise ValueError("a site needs exactly one of radius_m or polygon")
        if self.polygon is not None:
            _check_polygon(self.polygon)
        return self


def _check_polygon(ring: list[tuple[float, float]]) -> None:
    for lon, lat in ring:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"polygon point ({lon}, {lat}) is not [lon, lat] in range")
    check_ring(ring)


class WindowIn(_Strict):
    """A planned-downtime or approved-move window; YAML may give datetimes or ISO text."""

    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> WindowIn:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window start and end need a time zone (e.g. a trailing Z)")
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        return self

    def stored(self) -> dict[str, str]:
        return {"start": iso_z(self.start, "auto"), "end": iso_z(self.end, "auto"),
                "reason": self.reason}


class LenderIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str
    organisation: str | None = Field(default=None, max_length=64)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_events: WebhookEvents | None = None


class BorrowerIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    lender_id: str
    name: str
    contact: str | None = None


class LoanIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    lender_id: str
    borrower: str
    borrower_id: str | None = None
    principal: float | None = None
    currency: str | None = None
    status: LoanStatus = LoanStatus.ACTIVE  # closed: its collateral is released, not watched
    closed_at: datetime | None = None


class UserIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str
    role: Role
    lender_id: str | None = None


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
    operating_area: PolygonGeometry | None = None
    duty_schedule: dict[str, Any] | None = None
    planned_downtime: list[WindowIn] = []
    approved_moves: list[WindowIn] = []


class DeviceIn(_Strict):
    id: str = Field(min_length=1, max_length=64)
    asset_id: str


class FleetIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # e.g. the simulator's "simulation" section
    version: Literal[1]
    lenders: list[LenderIn]
    borrowers: list[BorrowerIn] = []
    loans: list[LoanIn]
    assets: list[AssetIn]
    devices: list[DeviceIn] = []
    users: list[UserIn] = []


@dataclass(frozen=True, slots=True)
class ImportSummary:
    lenders: int
    loans: int
    assets: int
    devices: int
    borrowers: int = 0
    users: int = 0


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
    borrowers = _unique("borrower", [x.id for x in fleet.borrowers])
    _unique("user", [x.id for x in fleet.users])
    loans = _unique("loan", [x.id for x in fleet.loans])
    assets = _unique("asset", [x.id for x in fleet.assets])
    devices = [x.id for x in fleet.devices] + [a.device_id for a in fleet.assets if a.device_id]
    _unique("device", devices)
    owned = ([("borrower", x.id, x.lender_id) for x in fleet.borrowers]
             + [("loan", x.id, x.lender_id) for x in fleet.loans]
             + [("user", x.id, x.lender_id) for x in fleet.users])
    for noun, item, lender in owned:
        if lender is not None and lender not in lenders:
            raise RegistryError(f"{noun} {item}: unknown lender {lender!r}")
    for loan in fleet.loans:
        if loan.borrower_id is not None and loan.borrower_id not in borrowers:
            raise RegistryError(f"loan {loan.id}: unknown borrower {loan.borrower_id!r}")
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


def import_fleet(registry: Registry, data: Any, actor: str = "import") -> ImportSummary:
    """Insert or update everything in the fleet document, in one transaction, audited."""
    fleet = parse_fleet(data)
    devices = list(fleet.devices) + [
        DeviceIn(id=a.device_id, asset_id=a.id) for a in fleet.assets if a.device_id
    ]
    summary = ImportSummary(len(fleet.lenders), len(fleet.loans), len(fleet.assets), len(devices),
                            len(fleet.borrowers), len(fleet.users))
    with registry.session() as session:
        for lender in fleet.lenders:
            session.merge(Lender(**lender.model_dump()))
        session.flush()
        for borrower in fleet.borrowers:
            session.merge(Borrower(**borrower.model_dump()))
        for user in fleet.users:
            _merge_user(session, user)
        session.flush()
        for loan in fleet.loans:
            session.merge(Loan(**loan.model_dump()))
        session.flush()
        for asset in fleet.assets:
            session.merge(_asset_row(asset))
        session.flush()
        for device in devices:
            _merge_device(session, device)
        record_audit(session, actor, "registry.import", "registry", "fleet", None,
                     asdict(summary))
    log.info("registry import: %s", summary)
    return summary


def _asset_row(asset: AssetIn) -> Asset:
    values = asset.model_dump(exclude={"device_id", "site", "operating_area", "planned_downtime",
                                       "approved_moves"})
    site = asset.site.model_dump(exclude_none=True)
    if "polygon" in site:
        site["polygon"] = [list(p) for p in site["polygon"]]
    area = asset.operating_area.model_dump(mode="json") if asset.operating_area else None
    return Asset(**values, site=site, operating_area=area,
                 planned_downtime=[w.stored() for w in asset.planned_downtime],
                 approved_moves=[w.stored() for w in asset.approved_moves])


def _merge_user(session: Session, user: UserIn) -> None:
    row = session.get(User, user.id)
    if row is None:
        session.add(User(**user.model_dump(), created_at=datetime.now(UTC)))
    else:
        row.name, row.role, row.lender_id = user.name, user.role, user.lender_id


def _merge_device(session: Session, device: DeviceIn) -> None:
    # Re-importing must not drop a provisioned device's MQTT credentials.
    row = session.get(Device, device.id)
    if row is None:
        session.add(Device(id=device.id, asset_id=device.asset_id))
    else:
        row.asset_id = device.asset_id


def import_fleet_file(registry: Registry, path: Path, actor: str = "import") -> ImportSummary:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"cannot read fleet file {path}: {exc}") from None
    return import_fleet(registry, data, actor)


def export_fleet(registry: Registry) -> dict[str, Any]:
    """The registry as a fleet document that ``import_fleet`` accepts."""
    with registry.session() as session:
        lenders = session.scalars(select(Lender).order_by(Lender.id)).all()
        borrowers = session.scalars(select(Borrower).order_by(Borrower.id)).all()
        loans = session.scalars(select(Loan).order_by(Loan.id)).all()
        assets = session.scalars(select(Asset).order_by(Asset.id)).all()
        devices = session.scalars(select(Device).order_by(Device.id)).all()
        users = session.scalars(select(User).order_by(User.id)).all()
        return {
            "version": 1,
            "lenders": [_lender_out(x) for x in lenders],
            "borrowers": [{"id": b.id, "lender_id": b.lender_id, "name": b.name,
                           "contact": b.contact} for b in borrowers],
            "loans": [_loan_out(x) for x in loans],
            "assets": [_asset_out(x) for x in assets],
            "devices": [{"id": d.id, "asset_id": d.asset_id} for d in devices],
            "users": [{"id": u.id, "name": u.name, "role": u.role, "lender_id": u.lender_id}
                      for u in users],
        }


def _lender_out(x: Lender) -> dict[str, Any]:
    return {"id": x.id, "name": x.name, "organisation": x.organisation,
            "webhook_url": x.webhook_url, "webhook_secret": x.webhook_secret,
            "webhook_events": x.webhook_events}


def _loan_out(x: Loan) -> dict[str, Any]:
    return {"id": x.id, "lender_id": x.lender_id, "borrower": x.borrower,
            "borrower_id": x.borrower_id, "principal": x.principal, "currency": x.currency,
            "status": x.status,
            "closed_at": iso_z(x.closed_at, "auto") if x.closed_at is not None else None}


def _asset_out(x: Asset) -> dict[str, Any]:
    return {"id": x.id, "kind": x.kind, "name": x.name, "loan_id": x.loan_id,
            "site": dict(x.site), "cadence_s": x.cadence_s, "idle_after_s": x.idle_after_s,
            "geofence_dwell_s": x.geofence_dwell_s, "operating_area": x.operating_area,
            "duty_schedule": x.duty_schedule, "planned_downtime": list(x.planned_downtime),
            "approved_moves": list(x.approved_moves)}
