"""GET /: the one server-rendered page a risk team keeps open."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboards.deps import SessionDep, StoreDep
from dashboards.schemas import AssetPublic
from dashboards.summaries import (
    alert_summaries,
    asset_summaries,
    count_rows,
    loan_summaries,
    select_alerts,
    select_assets,
    select_loans,
)
from ingest.store import StoreError, TelemetryStore
from registry.models import DeadLetter

__all__ = ["router", "templates", "PAGE_ROWS"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

# Jinja2Templates turns autoescaping on: every name, reason and detail is escaped.
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
PAGE_ROWS = 500  # per table; the API pages through the rest


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


templates.env.filters["when"] = _when


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def read_index(request: Request, session: SessionDep, store: StoreDep) -> HTMLResponse:
    assets, store_error = _assets(session, store)
    context: dict[str, Any] = {
        "loans": loan_summaries(session.execute(select_loans().limit(PAGE_ROWS))),
        "loan_count": count_rows(session, select_loans()),
        "alerts": alert_summaries(session.execute(
            select_alerts(status="open").limit(PAGE_ROWS))),
        "alert_count": count_rows(session, select_alerts(status="open")),
        "assets": assets,
        "asset_count": count_rows(session, select_assets()),
        "dead_letters": int(session.scalar(select(func.count()).select_from(DeadLetter)) or 0),
        "store_error": store_error,
        "page_rows": PAGE_ROWS,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    return templates.TemplateResponse(request, "index.html", context)


def _assets(session: Session, store: TelemetryStore) -> tuple[list[AssetPublic], str | None]:
    rows = [(a, lender) for a, lender in session.execute(select_assets().limit(PAGE_ROWS))]
    try:
        return asset_summaries(session, store, rows), None
    except StoreError as exc:
        # The registry half of the page is still worth showing when the store is down.
        log.warning("dashboard: telemetry store unavailable: %s", exc)
        return asset_summaries(session, None, rows), "telemetry store unavailable"
