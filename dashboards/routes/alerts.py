"""/api/alerts: alerts with filters, newest first; acknowledgements, snoozes and notes, by whom."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboards.auth import ALERT_ACTORS, Principal, PrincipalDep, require
from dashboards.deps import SessionDep
from dashboards.lookups import visible_alert
from dashboards.params import Limit, Offset
from dashboards.registry_schemas import AlertActionIn, AlertEventOut
from dashboards.schemas import AlertPublic, AlertsPublic
from dashboards.summaries import alert_summaries, count_rows, select_alerts
from monitor.model import AlertKind
from registry.access import AlertEvent
from registry.audit import record_audit
from registry.db import as_utc
from registry.models import Alert

__all__ = ["alert_history", "alert_public", "record_action", "router"]

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=AlertsPublic)
def read_alerts(
    session: SessionDep,
    principal: PrincipalDep,
    status: Literal["open", "resolved", "all"] = "all",
    kind: AlertKind | None = None,
    asset_id: str | None = None,
    loan_id: str | None = None,
    lender_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AlertsPublic:
    statement = select_alerts(status=None if status == "all" else status,
                              kind=kind.value if kind is not None else None,
                              asset_id=asset_id, loan_id=loan_id, lender_id=lender_id,
                              lenders=principal.lenders)
    rows = session.execute(statement.limit(limit).offset(offset))
    return AlertsPublic(data=alert_summaries(rows), count=count_rows(session, statement))


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
