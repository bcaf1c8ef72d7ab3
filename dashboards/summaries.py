"""Registry rows plus store readings turned into response models; shared by API and page.

Queries here select only what a view shows, and look up per-page extras
(devices, open alert kinds, last readings) in one query per kind, not per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from dashboards.schemas import AlertPublic, AssetPublic, LoanPublic, Position
from ingest.store import Row, TelemetryStore
from monitor.alerts import Alert as Lifecycle
from monitor.warning import WarningLevel
from registry.db import iso_ms, iso_z
from registry.models import Alert, Asset, Device, Loan

__all__ = [
    "select_assets",
    "select_alerts",
    "select_loans",
    "count_rows",
    "asset_summaries",
    "alert_summaries",
    "loan_summaries",
    "last_readings",
]

def count_rows(session: Session, statement: Select[*tuple[Any, ...]]) -> int:
    """How many rows ``statement`` would return without its paging."""
    unpaged = statement.limit(None).offset(None).order_by(None)
    return int(session.scalar(select(func.count()).select_from(unpaged.subquery())) or 0)


# -- assets ---------------------------------------------------------------------------------


def select_assets(*, kind: str | None = None, loan_id: str | None = None,
                  lender_id: str | None = None, asset_id: str | None = None,
                  loan_status: str | None = None,
                  lenders: frozenset[str] | None = None) -> Select[Asset, str]:
    """Assets with their lender; ``lenders`` is the caller's scope (None: all)."""
    statement = select(Asset, Loan.lender_id).join(Loan, Asset.loan_id == Loan.id)
    if lenders is not None:
        statement = statement.where(Loan.lender_id.in_(lenders))
    if loan_status is not None:
        statement = statement.where(Loan.status == loan_status)
    if kind is not None:
        statement = statement.where(Asset.kind == kind)
    if loan_id is not None:
        statement = statement.where(Asset.loan_id == loan_id)
    if lender_id is not None:
        statement = statement.where(Loan.lender_id == lender_id)
    if asset_id is not None:
        statement = statement.where(Asset.id == asset_id)
    return statement.order_by(Asset.id)


def asset_summaries(session: Session, store: TelemetryStore | None,
                    rows: Sequence[tuple[Asset, str]]) -> list[AssetPublic]:
    """``rows`` as (asset, lender_id), with devices, open alert kinds and last reading.

    With ``store=None`` the readings are left out (the page does so when the
    store is down, rather than show nothing).
    """
    ids = [asset.id for asset, _ in rows]
    devices = _grouped(session.execute(
        select(Device.asset_id, Device.id).where(Device.asset_id.in_(ids)).order_by(Device.id)))
    kinds = _grouped(session.execute(
        select(Alert.asset_id, Alert.kind).where(Alert.asset_id.in_(ids), Alert.status == "open")
        .order_by(Alert.kind)))
    last = last_readings(store, ids) if store is not None else {}
    return [_asset_public(asset, lender_id, devices[asset.id], kinds[asset.id], last.get(asset.id))
            for asset, lender_id in rows]


def last_readings(store: TelemetryStore, asset_ids: Iterable[str]) -> dict[str, Row | None]:
    # One call per asset: InfluxDB answers a "last point" in ~1 ms, and pages are bounded.
    return {asset_id: store.last(asset_id) for asset_id in asset_ids}


def _asset_public(asset: Asset, lender_id: str, devices: list[str], kinds: list[str],
                  last: Row | None) -> AssetPublic:
    return AssetPublic(
        id=asset.id, kind=asset.kind, name=asset.name, loan_id=asset.loan_id,
        lender_id=lender_id, site=dict(asset.site), cadence_s=asset.cadence_s,
        device_ids=devices, last_seen_ms=last.ts_ms if last else None,
        last_seen_at=iso_ms(last.ts_ms) if last else None, position=_position(last),
        open_alert_kinds=kinds)


def _position(row: Row | None) -> Position | None:
    if row is None:
        return None
    lat, lon = row.values.get("lat"), row.values.get("lon")
    if isinstance(lat, float | int) and isinstance(lon, float | int):
        return Position(lat=float(lat), lon=float(lon))
    return None


def _grouped(rows: Iterable[Any]) -> defaultdict[str, list[str]]:
    out: defaultdict[str, list[str]] = defaultdict(list)
    for key, value in rows:
        out[key].append(value)
    return out


# -- alerts ---------------------------------------------------------------------------------


def select_alerts(*, status: str | None = None, kind: str | None = None,
                  asset_id: str | None = None, loan_id: str | None = None,
                  lender_id: str | None = None,
                  lenders: frozenset[str] | None = None) -> Select[Alert, str, str]:
    """Alerts with their loan and lender, newest first; ``status=None`` means any."""
    statement = (select(Alert, Asset.loan_id, Loan.lender_id)
                 .join(Asset, Alert.asset_id == Asset.id).join(Loan, Asset.loan_id == Loan.id))
    if lenders is not None:
        statement = statement.where(Loan.lender_id.in_(lenders))
    for column, value in ((Alert.status, status), (Alert.kind, kind),
                          (Alert.asset_id, asset_id), (Asset.loan_id, loan_id),
                          (Loan.lender_id, lender_id)):
        if value is not None:
            statement = statement.where(column == value)
    return statement.order_by(Alert.opened_at_ms.desc(), Alert.id.desc())


def alert_summaries(rows: Iterable[Any]) -> list[AlertPublic]:
    """``rows`` as (alert, loan_id, lender_id) from ``select_alerts``."""
    return [_alert_public(alert, loan_id, lender_id) for alert, loan_id, lender_id in rows]


def _alert_public(alert: Alert, loan_id: str, lender_id: str) -> AlertPublic:
    resolved = alert.resolved_at_ms
    # Who has it in hand, from the monitor's stored lifecycle (none before it stored one).
    life = Lifecycle.from_dict(alert.state) if alert.state else None
    people: dict[str, Any] = {} if life is None else {
        "acknowledged_by": life.acked_by, "acknowledged_at_ms": life.acked_at_ms,
        "resolved_by": life.resolved_by, "snoozed_until_ms": life.snoozed_until_ms}
    return AlertPublic(
        id=alert.id, asset_id=alert.asset_id, loan_id=loan_id, lender_id=lender_id,
        kind=alert.kind, status=alert.status, opened_at_ms=alert.opened_at_ms,
        opened_at=iso_ms(alert.opened_at_ms), updated_at_ms=alert.updated_at_ms,
        updated_at=iso_ms(alert.updated_at_ms), resolved_at_ms=resolved,
        resolved_at=iso_ms(resolved),
        reason=alert.reason, details=dict(alert.details or {}), **people)


# -- loans ----------------------------------------------------------------------------------


def select_loans(*, lender_id: str | None = None, warning_level: str | None = None,
                 loan_id: str | None = None, status: str | None = None,
                 lenders: frozenset[str] | None = None) -> Select[Loan, Any, Any]:
    """Loans, most severe warning first (then by id), with asset and open alert counts."""
    assets = (select(Asset.loan_id, func.count().label("n")).group_by(Asset.loan_id)
              .subquery())
    alerts = (select(Asset.loan_id, func.count().label("n"))
              .join(Alert, Alert.asset_id == Asset.id).where(Alert.status == "open")
              .group_by(Asset.loan_id).subquery())
    severity = case({level.value: level.rank for level in WarningLevel},
                    value=Loan.warning_level, else_=len(WarningLevel))
    statement = (select(Loan, func.coalesce(assets.c.n, 0), func.coalesce(alerts.c.n, 0))
                 .outerjoin(assets, assets.c.loan_id == Loan.id)
                 .outerjoin(alerts, alerts.c.loan_id == Loan.id))
    if lenders is not None:
        statement = statement.where(Loan.lender_id.in_(lenders))
    for column, value in ((Loan.lender_id, lender_id), (Loan.warning_level, warning_level),
                          (Loan.id, loan_id), (Loan.status, status)):
        if value is not None:
            statement = statement.where(column == value)
    return statement.order_by(severity.desc(), Loan.id)


def loan_summaries(rows: Iterable[Any]) -> list[LoanPublic]:
    """``rows`` as (loan, asset_count, open_alert_count) from ``select_loans``."""
    return [_loan_public(loan, int(assets), int(alerts)) for loan, assets, alerts in rows]


def _loan_public(loan: Loan, asset_count: int, open_alert_count: int) -> LoanPublic:
    changed = loan.warning_changed_ms
    return LoanPublic(
        id=loan.id, lender_id=loan.lender_id, borrower=loan.borrower, principal=loan.principal,
        currency=loan.currency, warning_level=loan.warning_level,
        warning_reason=loan.warning_reason, warning_changed_ms=changed,
        warning_changed_at=iso_ms(changed),
        asset_count=asset_count, open_alert_count=open_alert_count, status=loan.status,
        closed_at=iso_z(loan.closed_at) if loan.closed_at is not None else None)
