"""POST /api/assets, PATCH /api/assets/{id}, and the pledge (GeoJSON site and terms).

An asset is pledged to one loan; its pledged site travels as a GeoJSON
Feature (a Point with ``radius_m``, or a Polygon), its permitted operating
area as a GeoJSON Polygon.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from dashboards.auth import EDITORS, Principal, PrincipalDep, require
from dashboards.changes import add_new, apply_patch
from dashboards.deps import SessionDep
from dashboards.lookups import visible_asset, visible_loan
from dashboards.registry_schemas import AssetIn, AssetPatch, PledgeIn, PledgeOut
from registry.audit import record_audit
from registry.geo import feature_to_site, site_to_feature
from registry.models import Asset

__all__ = ["router"]

router = APIRouter(prefix="/assets", tags=["assets"])

Editor = Annotated[Principal, Depends(require(EDITORS))]


def _pledge_out(asset: Asset) -> PledgeOut:
    return PledgeOut(asset_id=asset.id, loan_id=asset.loan_id, site=site_to_feature(asset.site),
                     operating_area=asset.operating_area, duty_schedule=asset.duty_schedule,
                     planned_downtime=list(asset.planned_downtime or []),
                     approved_moves=list(asset.approved_moves or []),
                     geofence_dwell_s=asset.geofence_dwell_s)


def _pledge_values(pledge: PledgeIn) -> dict[str, Any]:
    area = pledge.operating_area.model_dump(mode="json") if pledge.operating_area else None
    return {"site": feature_to_site(pledge.site), "operating_area": area,
            "duty_schedule": pledge.duty_schedule,
            "planned_downtime": [w.stored() for w in pledge.planned_downtime],
            "approved_moves": [w.stored() for w in pledge.approved_moves],
            "geofence_dwell_s": pledge.geofence_dwell_s}


@router.post("", response_model=PledgeOut, status_code=status.HTTP_201_CREATED)
def create_asset(body: AssetIn, session: SessionDep, principal: Editor) -> PledgeOut:
    """Register an asset pledged to a loan, with its site; answers with the pledge."""
    loan = visible_loan(session, principal, body.loan_id)
    asset = add_new(session, Asset(**body.model_dump(exclude={"pledge"}),
                                   **_pledge_values(body.pledge)), body.id, "asset")
    record_audit(session, principal.user_id, "asset.create", "asset", body.id, loan.lender_id,
                 {"loan_id": body.loan_id, "kind": body.kind})
    return _pledge_out(asset)


@router.patch("/{asset_id}", response_model=PledgeOut)
def update_asset(asset_id: str, body: AssetPatch, session: SessionDep,
                 principal: Editor) -> PledgeOut:
    asset, lender_id = visible_asset(session, principal, asset_id)
    changes = apply_patch(asset, body.model_dump(exclude_unset=True),
                          ("name", "cadence_s", "idle_after_s"))
    record_audit(session, principal.user_id, "asset.update", "asset", asset_id, lender_id,
                 changes)
    return _pledge_out(asset)


@router.get("/{asset_id}/pledge", response_model=PledgeOut)
def read_pledge(asset_id: str, session: SessionDep, principal: PrincipalDep) -> PledgeOut:
    return _pledge_out(visible_asset(session, principal, asset_id)[0])


@router.put("/{asset_id}/pledge", response_model=PledgeOut)
def set_pledge(asset_id: str, body: PledgeIn, session: SessionDep,
               principal: Editor) -> PledgeOut:
    """Replace the pledge's site and terms (the monitor picks them up within 30 s)."""
    asset, lender_id = visible_asset(session, principal, asset_id)
    values = _pledge_values(body)
    for key, value in values.items():
        setattr(asset, key, value)
    record_audit(session, principal.user_id, "pledge.update", "asset", asset_id, lender_id,
                 {"site": values["site"] if "radius_m" in values["site"] else "polygon",
                  "downtime_windows": len(values["planned_downtime"]),
                  "approved_moves": len(values["approved_moves"])})
    return _pledge_out(asset)
