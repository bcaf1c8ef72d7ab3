"""Reading pledge context (asset, loan, lender, site) out of the registry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from monitor.model import Pledge, Site
from registry import Registry
from registry.models import Asset, Loan

__all__ = ["load_pledges", "site_from_json"]


def site_from_json(site: dict[str, Any]) -> Site:
    polygon = site.get("polygon")
    return Site(
        lat=float(site["lat"]),
        lon=float(site["lon"]),
        radius_m=float(site["radius_m"]) if site.get("radius_m") is not None else None,
        polygon=tuple((float(p[0]), float(p[1])) for p in polygon) if polygon else None,
    )


def load_pledges(registry: Registry) -> dict[str, Pledge]:
    with registry.session() as session:
        rows = session.execute(select(Asset, Loan.lender_id).join(Loan)).all()
        return {
            asset.id: Pledge(
                asset_id=asset.id,
                loan_id=asset.loan_id,
                lender_id=lender_id,
                asset_kind=asset.kind,
                site=site_from_json(asset.site),
                cadence_s=asset.cadence_s,
                idle_after_s=asset.idle_after_s,
                geofence_dwell_s=asset.geofence_dwell_s,
            )
            for asset, lender_id in rows
        }
