"""/api/alerts: alerts with filters, newest first; acknowledgements, snoozes and notes, by whom."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dashboards.auth import ALERT_ACTORS, Principal, PrincipalDep, require
from dashboards.deps import SessionDep
from dashboards.lookups import visible_alert
from dashboards.params import BadParameter, Limit, Offset, parse_time_ms
from dashboards.registry_schemas import AlertActionIn, AlertEventOut
from dashboards.schemas import AlertPublic, AlertsPublic
from dashboards.summaries import alert_summaries, count_rows, select_alerts
from monitor.model import AlertKind
from registry.access import AlertEvent
from registry.audit import record_audit
from registry.db import as_utc, iso_ms
from registry.models import Alert

__all__ = ["AlertFilterDep", "alert_history", "alert_public", "alerts_csv", "record_action",
           "router"]

router = APIRouter(prefix="/alerts", tags=["alerts"])


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """The alert list's filters, shared by the API, its CSV export and the page's export."""

    status: str | None = None
    kind: str | None = None
    asset_id: str | None = None
    loan_id: str | None = None
    lender_id: str | None = None
    opened_since_ms: int | None = None
    opened_until_ms: int | None = None  # exclusive

    def statement(self, principal: Principal) -> Select[Alert, str, str]:
        statement = select_alerts(status=self.status, kind=self.kind, asset_id=self.asset_id,
                                  loan_id=self.loan_id, lender_id=self.lender_id,
                                  lenders=principal.lenders)
        if self.opened_since_ms is not None:
            statement = statement.where(Alert.opened_at_ms >= self.opened_since_ms)
        if self.opened_until_ms is not None:
            statement = statement.where(Alert.opened_at_ms < self.opened_until_ms)
        return statement


def alert_filter(
    status: Literal["open", "resolved", "all"] = "all",
    kind: AlertKind | None = None,
    asset_id: str | None = None,
    loan_id: str | None = None,
    lender_id: str | None = None,
    opened_since: Annotated[str | None, Query(
        description="opened at or after: epoch ms or ISO 8601 (no offset means UTC)")] = None,
    opened_until: Annotated[str | None, Query(description="opened before (same forms)")] = None,
) -> AlertFilter:
    since = parse_time_ms("opened_since", opened_since) if opened_since is not None else None
    until = parse_time_ms("opened_until", opened_until) if opened_until is not None else None
    if since is not None and until is not None and until <= since:
        raise BadParameter("opened_until", "must be after opened_since")
    return AlertFilter(None if status == "all" else status,
                       kind.value if kind is not None else None,
                       asset_id, loan_id, lender_id, since, until)


AlertFilterDep = Annotated[AlertFilter, Depends(alert_filter)]


@router.get("", response_model=AlertsPublic)
def read_alerts(session: SessionDep, principal: PrincipalDep, where: AlertFilterDep,
                limit: Limit = 100, offset: Offset = 0) -> AlertsPublic:
    statement = where.statement(principal)
    rows = session.execute(statement.limit(limit).offset(offset))
    return AlertsPublic(data=alert_summaries(rows), count=count_rows(session, statement))


@router.get("/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "one row per alert"}})
def export_alerts(session: SessionDep, principal: PrincipalDep,
                  where: AlertFilterDep) -> Response:
    """The alerts the same filters list, newest first, as CSV (for a post-loan review in a
    spreadsheet): times in UTC, who acknowledged and resolved them, the detector's
    evidence as JSON. At most 100,000 rows; narrow the filters (e.g. ``opened_since``)
    beyond that."""
    return alerts_csv(session, where.statement(principal))


def alerts_csv(session: Session, statement: Select[Alert, str, str]) -> Response:
    """``statement``'s alerts as a CSV attachment; 422 past ``EXPORT_MAX_ROWS``."""
    count = count_rows(session, statement)
    if count > EXPORT_MAX_ROWS:
        raise BadParameter("opened_since", f"{count} alerts match; at most {EXPORT_MAX_ROWS} "
                                           "a file: narrow the filters")
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)  # every cell text: ids keep their zeros
    writer.writerow(CSV_COLUMNS)
    for alert in alert_summaries(session.execute(statement)):
        writer.writerow(_cells(alert))
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="alerts.csv"'})


EXPORT_MAX_ROWS = 100_000
CSV_COLUMNS = ("id", "lender_id", "loan_id", "asset_id", "kind", "status", "opened_at",
               "updated_at", "resolved_at", "reason", "acknowledged_by", "acknowledged_at",
               "resolved_by", "snoozed_until", "details")


def _cells(alert: AlertPublic) -> list[str]:
    cells = [str(alert.id), alert.lender_id, alert.loan_id, alert.asset_id, alert.kind,
             alert.status, alert.opened_at, alert.updated_at, alert.resolved_at or "",
             alert.reason, alert.acknowledged_by or "", iso_ms(alert.acknowledged_at_ms) or "",
             alert.resolved_by or "", iso_ms(alert.snoozed_until_ms) or "",
             json.dumps(alert.details, sort_keys=True, separators=(",", ":"))]
    return [_inert(c) for c in cells]


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV injection advice): names
    and reasons come from people and devices.

    >>> _inert("=SUM(A1)"), _inert("truck-1"), _inert("-3")
    ("'=SUM(A1)", 'truck-1', "'-3")
    """
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


@router.get("/{alert_id}", response_model=AlertPublic)
def read_alert(alert_id: int, session: SessionDep, principal: PrincipalDep) -> AlertPublic:
    return alert_public(session, principal, alert_id)


def alert_public(session: Session, principal: Principal, alert_id: int) -> AlertPublic:
    """The alert as the API shows it; 404 unless the caller may see it."""
    visible_alert(session, principal, alert_id)
    return alert_summaries(session.execute(select_alerts().where(Alert.id == alert_id)))[0]


@router.get("/{alert_id}/history", response_model=list[AlertEventOut])
def read_alert_history(alert_id: int, session: SessionDep,
                       principal: PrincipalDep) -> list[AlertEventOut]:
    """Every step of the alert, oldest first: what people did (``acknowledge``,
    ``resolve``, ``snooze``, ``note``; ``at`` is when they asked) and what the monitor
    did (actor ``monitor``: ``alert.opened``, ``alert.updated``, ``alert.reminder``,
    ``alert.acknowledged``, ``alert.resolved``, ...; ``at`` is device time, which
    live is the wall clock; ``note`` says why)."""
    visible_alert(session, principal, alert_id)
    return alert_history(session, alert_id)


def alert_history(session: Session, alert_id: int) -> list[AlertEventOut]:
    """The alert's history, oldest first (the caller has checked that it may see it)."""
    rows = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                           .order_by(AlertEvent.id))
    return [_event_out(e) for e in rows]


@router.post("/{alert_id}/actions", response_model=AlertEventOut,
             status_code=status.HTTP_201_CREATED)
def act_on_alert(alert_id: int, body: AlertActionIn, session: SessionDep,
                 principal: Annotated[Principal, Depends(require(ALERT_ACTORS))]
                 ) -> AlertEventOut:
    """Acknowledge, resolve, snooze (``until`` a time) or add a note; all land in its
    history and the audit log.

    The monitor applies acknowledge, resolve and snooze to the alert's lifecycle (and
    sends their webhook events) on its next tick. A snooze holds back the alert's
    updates and reminders until ``until`` (device time, which live is the wall
    clock); its resolution is still told.
    """
    return record_action(session, principal, alert_id, body)


def record_action(session: Session, principal: Principal, alert_id: int,
                  body: AlertActionIn) -> AlertEventOut:
    """Write a person's action into the alert's history and the audit log (the API's and
    the page's forms both come here); 404 if the caller may not see the alert."""
    alert, lender_id = visible_alert(session, principal, alert_id)
    event = AlertEvent(alert_id=alert.id, at=datetime.now(UTC), actor=principal.user_id,
                       action=body.action, note=body.note, until=body.until)
    session.add(event)
    session.flush()
    record_audit(session, principal.user_id, f"alert.{body.action}", "alert", str(alert_id),
                 lender_id, {"note": body.note[:200]} | (
                     {"until": body.until.isoformat()} if body.until is not None else {}))
    return _event_out(event)


def _event_out(event: AlertEvent) -> AlertEventOut:
    until = None if event.until is None else as_utc(event.until)
    return AlertEventOut(id=event.id, alert_id=event.alert_id, at=as_utc(event.at),
                         actor=event.actor, action=event.action, note=event.note, until=until)
