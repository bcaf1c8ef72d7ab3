"""GET /api/assets, /api/assets/{asset_id} and /api/assets/{asset_id}/telemetry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from dashboards.auth import PrincipalDep
from dashboards.deps import NowMsDep, SessionDep, StoreDep
from dashboards.params import (
    BadParameter,
    Limit,
    Offset,
    Window,
    parse_every_ms,
    parse_fields,
    parse_time_ms,
    resolve_window,
)
from dashboards.schemas import AssetDetail, AssetsPublic, TelemetryPoint, TelemetryPublic
from dashboards.summaries import (
    alert_summaries,
    asset_summaries,
    count_rows,
    select_alerts,
    select_assets,
)
from ingest.store import Row, TelemetryStore
from ingest.wire import FIELD_TYPES
from registry.db import iso_ms
from registry.fleet_io import AssetKind

__all__ = ["router", "MAX_POINTS", "MAX_SPAN_DAYS"]

router = APIRouter(prefix="/assets", tags=["assets"])

MAX_POINTS = 10_000
MAX_SPAN_DAYS = 400
_DAY_MS = 86_400_000



@router.get("", response_model=AssetsPublic)
def read_assets(session: SessionDep, store: StoreDep, principal: PrincipalDep,
                kind: AssetKind | None = None, loan_id: str | None = None,
                lender_id: str | None = None, limit: Limit = 100,
                offset: Offset = 0) -> AssetsPublic:
    statement = select_assets(kind=kind, loan_id=loan_id, lender_id=lender_id,
                              lenders=principal.lenders)
    rows = [(asset, lender) for asset, lender in
            session.execute(statement.limit(limit).offset(offset))]
    return AssetsPublic(data=asset_summaries(session, store, rows),
                        count=count_rows(session, statement))


@router.get("/{asset_id}", response_model=AssetDetail,
            responses={404: {"description": "unknown asset"}})
def read_asset(asset_id: str, session: SessionDep, store: StoreDep,
               principal: PrincipalDep) -> AssetDetail:
    row = session.execute(select_assets(asset_id=asset_id, lenders=principal.lenders)).first()
    if row is None:
        raise _unknown(asset_id)
    [summary] = asset_summaries(session, store, [(row[0], row[1])])
    alerts = alert_summaries(session.execute(select_alerts(status="open", asset_id=asset_id)))
    return AssetDetail(**summary.model_dump(), open_alerts=alerts)


@router.get("/{asset_id}/telemetry", response_model=TelemetryPublic,
            responses={404: {"description": "unknown asset"},
                       422: {"description": "bad time range, interval or field list"}})
def read_asset_telemetry(
    asset_id: str,
    session: SessionDep,
    store: StoreDep,
    now_ms: NowMsDep,
    principal: PrincipalDep,
    start: Annotated[str | None, Query(
        description="ISO 8601 or epoch ms; default: 24 h before end")] = None,
    end: Annotated[str | None, Query(
        description="ISO 8601 or epoch ms, exclusive; default: just after the newest "
                    "reading (device time, not the wall clock)")] = None,
    every: Annotated[str | None, Query(
        description="downsample into buckets: 30s, 5m, 1h, 1d or seconds")] = None,
    fields: Annotated[str | None, Query(
        description="comma-separated field names, e.g. lat,lon,speed_kmh")] = None,
) -> TelemetryPublic:
    if session.execute(select_assets(asset_id=asset_id, lenders=principal.lenders)).first() is None:
        raise _unknown(asset_id)
    every_ms = parse_every_ms(every) if every is not None else None
    names = parse_fields(fields, FIELD_TYPES) if fields is not None else None
    window = _window(store, asset_id, start, end, now_ms)
    rows = _query(store, asset_id, window, every_ms, names)
    points = [TelemetryPoint(ts_ms=r.ts_ms, at=iso_ms(r.ts_ms), values=dict(r.values))
              for r in rows]
    return TelemetryPublic(
        asset_id=asset_id, start_ms=window.start_ms, end_ms=window.end_ms,
        start_at=iso_ms(window.start_ms), end_at=iso_ms(window.end_ms), every_ms=every_ms,
        fields=names, count=len(points), points=points)


def _window(store: TelemetryStore, asset_id: str, start: str | None, end: str | None,
            now_ms: int) -> Window:
    start_ms = parse_time_ms("start", start) if start is not None else None
    end_ms = parse_time_ms("end", end) if end is not None else None
    default_end = now_ms
    if end_ms is None:
        # The platform runs on device time: "the last day" is the asset's last day
        # of data, which for a replayed or delayed fleet is not the wall clock's.
        newest = store.last(asset_id)
        default_end = newest.ts_ms + 1 if newest is not None else now_ms
    return resolve_window(start_ms, end_ms, default_end_ms=default_end,
                          default_span_ms=_DAY_MS, max_span_ms=MAX_SPAN_DAYS * _DAY_MS)


def _query(store: TelemetryStore, asset_id: str, window: Window, every_ms: int | None,
           names: list[str] | None) -> list[Row]:
    if every_ms is not None:
        buckets = -(-(window.end_ms - window.start_ms) // every_ms)
        if buckets > MAX_POINTS:
            raise BadParameter("every", f"{buckets} buckets in this range; at most {MAX_POINTS}:"
                                        " use a larger every or a shorter range")
    # One row more than allowed tells "exactly at the limit" from "cut off".
    rows = store.query(asset_id, window.start_ms, window.end_ms, every_ms, names,
                       limit=MAX_POINTS + 1)
    if len(rows) > MAX_POINTS:
        raise BadParameter("start", f"more than {MAX_POINTS} readings in this range: "
                                    "set every to downsample, or shorten the range")
    return rows


def _unknown(asset_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {asset_id!r}")
