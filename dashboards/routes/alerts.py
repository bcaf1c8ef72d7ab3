"""GET /api/alerts: alerts with filters, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dashboards.deps import SessionDep
from dashboards.schemas import AlertsPublic
from dashboards.summaries import alert_summaries, count_rows, select_alerts
from monitor.model import AlertKind

__all__ = ["router"]

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=AlertsPublic)
def read_alerts(
    session: SessionDep,
    status: Literal["open", "resolved", "all"] = "all",
    kind: AlertKind | None = None,
    asset_id: str | None = None,
    loan_id: str | None = None,
    lender_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AlertsPublic:
    statement = select_alerts(status=None if status == "all" else status,
                              kind=kind.value if kind is not None else None,
                              asset_id=asset_id, loan_id=loan_id, lender_id=lender_id)
    rows = session.execute(statement.limit(limit).offset(offset))
    return AlertsPublic(data=alert_summaries(rows), count=count_rows(session, statement))
