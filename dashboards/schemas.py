"""Response models of the API: what a risk team sees, never a table row.

Device times are epoch ms with an ISO-8601 twin (``*_at``) for people; the
lender's webhook URL and secret are never part of any response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = [
    "Position",
    "AssetPublic",
    "AssetDetail",
    "AssetsPublic",
    "TelemetryPoint",
    "TelemetryPublic",
    "AlertPublic",
    "AlertsPublic",
    "LoanPublic",
    "WarningChangePublic",
    "LoanDetail",
    "LoansPublic",
    "DeadLetterPublic",
    "DeadLettersPublic",
    "HealthPublic",
    "MonitorCoveragePublic",
    "MonitorHealthPublic",
    "MonitorWorkerPublic",
]


class Position(BaseModel):
    lat: float
    lon: float


class AssetPublic(BaseModel):
    id: str
    kind: str
    name: str
    loan_id: str
    lender_id: str
    site: dict[str, Any]
    cadence_s: float
    device_ids: list[str]
    last_seen_ms: int | None
    last_seen_at: str | None
    position: Position | None
    open_alert_kinds: list[str]


class AlertPublic(BaseModel):
    id: int
    asset_id: str
    loan_id: str
    lender_id: str
    kind: str
    status: str
    opened_at_ms: int
    opened_at: str
    updated_at_ms: int
    updated_at: str
    resolved_at_ms: int | None
    resolved_at: str | None
    reason: str
    details: dict[str, Any]
    #: Who acknowledged it and when (device time), who resolved it (None when the condition
    #: cleared), and until when it is snoozed: as the monitor last applied them.
    acknowledged_by: str | None = None
    acknowledged_at_ms: int | None = None
    resolved_by: str | None = None
    snoozed_until_ms: int | None = None


class AssetDetail(AssetPublic):
    open_alerts: list[AlertPublic]


class AssetsPublic(BaseModel):
    data: list[AssetPublic]
    count: int


class TelemetryPoint(BaseModel):
    ts_ms: int
    at: str
    values: dict[str, float | int | bool | None]


class TelemetryPublic(BaseModel):
    asset_id: str
    start_ms: int
    end_ms: int
    start_at: str
    end_at: str
    every_ms: int | None
    fields: list[str] | None
    count: int
    points: list[TelemetryPoint]


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int


class LoanPublic(BaseModel):
    id: str
    lender_id: str
    borrower: str
    principal: float | None
    currency: str | None
    warning_level: str
    warning_reason: str
    warning_changed_ms: int | None
    warning_changed_at: str | None
    asset_count: int
    open_alert_count: int
    status: str  # active, or closed (its collateral released: no longer watched)
    closed_at: str | None


class WarningChangePublic(BaseModel):
    level: str
    previous: str
    reason: str
    at_ms: int
    at: str


class LoanDetail(LoanPublic):
    assets: list[AssetPublic]
    warning_history: list[WarningChangePublic]


class LoansPublic(BaseModel):
    data: list[LoanPublic]
    count: int


class DeadLetterPublic(BaseModel):
    id: int
    received_at: datetime
    reason: str
    detail: str
    topic: str
    device_id: str | None
    payload_size: int
    payload_preview: str
    truncated: bool


class DeadLettersPublic(BaseModel):
    total: int
    counts: dict[str, int]
    newest: list[DeadLetterPublic]


class MonitorWorkerPublic(BaseModel):
    client_id: str
    partitions: list[int]
    #: live; silent (no beat for three checkpoints: crashed, hung or cut off); stopped;
    #: mismatch (configured with another number of partitions)
    state: str
    seen_at: datetime
    #: The newest device time it had judged (None: none yet). A live worker whose
    #: watermark stands still hears nothing: its broker or the ingest may be down.
    watermark_at: str | None


class MonitorCoveragePublic(BaseModel):
    #: ok; degraded (partitions unwatched, or judged twice); down (nothing watched)
    status: str
    total_partitions: int
    unwatched_partitions: list[int]
    doubled_partitions: list[int]
    #: The caller's watched assets (active loans) in unwatched partitions: raising nothing.
    unwatched_assets: int
    unwatched_asset_ids: list[str]  # the first 100
    workers: list[MonitorWorkerPublic]


class MonitorHealthPublic(BaseModel):
    status: str  # ok, degraded or down (as /api/monitor/coverage)
    total_partitions: int
    unwatched_partitions: int
    doubled_partitions: int
    live_workers: int


class HealthPublic(BaseModel):
    status: str
    registry: str
    store: str
