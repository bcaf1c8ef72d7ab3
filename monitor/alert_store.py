"""The SQL edge of the alert lifecycle: alerts, loan warning levels, webhook events.

One transaction per batch of changes: an alert row, the loan's warning level
and the webhook events it causes commit together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alert_actions import ACTIONS
from monitor.alerts import Alert, AlertEvent, AlertStatus
from monitor.model import AlertKind, Pledge
from monitor.outbox import enqueue_event
from monitor.warning import loan_warning_level
from registry import Registry
from registry.access import AlertEvent as AlertHistory
from registry.db import as_utc, iso_ms
from registry.models import Alert as AlertRow
from registry.models import Loan, WarningChange

__all__ = ["AlertChange", "AlertStore", "PeopleAction", "MONITOR_ACTOR"]

#: Who the alert's history names for the lifecycle's own steps (opened, reminder, ...).
MONITOR_ACTOR = "monitor"

log = logging.getLogger(__name__)

Key = tuple[str, AlertKind]


@dataclass(frozen=True, slots=True)
class AlertChange:
    alert: Alert
    events: Sequence[AlertEvent]


@dataclass(frozen=True, slots=True)
class PeopleAction:
    """One action a person recorded on an alert through the API."""

    history_id: int
    alert_id: int
    by: str
    action: str  # one of alert_actions.ACTIONS
    note: str
    until_ms: int | None  # a snooze's end


class AlertStore:
    """Open alerts in memory (for the engine), every change in SQL."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.open: dict[Key, Alert] = {}
        #: Alerts resolved lately: a condition back within the flap window reopens them.
        self.recent: dict[Key, Alert] = {}
        self._ids: dict[Key, int] = {}
        self.opened_by_kind: dict[str, int] = {}
        self.events_enqueued = 0

    def load(self, owns: Callable[[str], bool] | None = None) -> None:
        """The open alerts of the assets this worker ``owns`` (another worker ticks the rest)."""
        with self.registry.session() as session:
            rows = session.scalars(select(AlertRow).where(AlertRow.status == "open")).all()
            for row in rows:
                if owns is not None and not owns(row.asset_id):
                    continue
                key = (row.asset_id, AlertKind(row.kind))
                self.open[key] = _alert_from_row(row)
                self._ids[key] = row.id
        log.info("monitor: %d open alerts loaded", len(self.open))

    def key_of(self, alert_id: int) -> Key | None:
        """The (asset, kind) of an alert row this store tracks."""
        return next((key for key, row_id in self._ids.items() if row_id == alert_id), None)

    def people_actions_after(self, history_id: int) -> list[PeopleAction]:
        """What people recorded through the API after ``history_id``, oldest first."""
        with self.registry.session() as session:
            rows = session.execute(
                select(AlertHistory.id, AlertHistory.alert_id, AlertHistory.actor,
                       AlertHistory.action, AlertHistory.note, AlertHistory.until)
                .where(AlertHistory.id > history_id, AlertHistory.action.in_(ACTIONS))
                .order_by(AlertHistory.id)).all()
        return [PeopleAction(int(a), int(b), str(c), str(d), str(e or ""), _ms(until))
                for a, b, c, d, e, until in rows]

    def last_people_action(self) -> int:
        with self.registry.session() as session:
            return int(session.scalar(select(func.max(AlertHistory.id))) or 0)

    def current(self, key: Key) -> Alert | None:
        """The open alert for ``key``, else the one resolved lately (it may reopen)."""
        return self.open.get(key) or self.recent.get(key)

    def forget_resolved_before(self, at_ms: int) -> None:
        """Let go of resolved alerts too old to reopen."""
        for key in [k for k, a in self.recent.items() if (a.resolved_at_ms or 0) < at_ms]:
            del self.recent[key]
            if key not in self.open:
                self._ids.pop(key, None)

    def commit(self, changes: Sequence[AlertChange], pledges: Mapping[str, Pledge]) -> None:
        if not changes:
            return
        with self.registry.session() as session:
            loans: set[str] = set()
            for change in changes:
                self._save_one(session, change, pledges)
                pledge = pledges.get(change.alert.asset_id)
                if pledge is not None:
                    loans.add(pledge.loan_id)
            for loan_id in loans:
                self._update_warning(session, loan_id, pledges, _last_time(changes))

    def _save_one(self, session: Session, change: AlertChange,
                  pledges: Mapping[str, Pledge]) -> None:
        alert = change.alert
        key = (alert.asset_id, alert.kind)
        row_id = self._ids.get(key)
        before = self.recent.get(key)
        if key not in self.open and (before is None or before.opened_at_ms != alert.opened_at_ms):
            row_id = None  # a new alert, not the reopening of a recent one
        row = session.get(AlertRow, row_id) if row_id is not None else None
        if row is None:
            row = AlertRow(asset_id=alert.asset_id, kind=alert.kind.value)
            session.add(row)
            kind = alert.kind.value
            self.opened_by_kind[kind] = self.opened_by_kind.get(kind, 0) + 1
        _fill_row(row, alert)
        session.flush()
        self._ids[key] = row.id
        for event in change.events:  # the alert's history: its audit trail, beside people's
            session.add(AlertHistory(
                alert_id=row.id, at=datetime.fromtimestamp(event.at_ms / 1000, UTC),
                actor=MONITOR_ACTOR, action=event.type.value, note=event.why))
        if alert.status == AlertStatus.OPEN:
            self.open[key] = alert
            self.recent.pop(key, None)
        else:
            self.open.pop(key, None)
            self.recent[key] = alert
        pledge = pledges.get(alert.asset_id)
        if pledge is None:
            return
        for event in change.events:
            self._enqueue(session, pledge.lender_id, event.type.value,
                          _alert_data(row.id, alert, pledge, event.why),
                          f"alert-{row.id}-{event.type.value}-{event.at_ms}", event.at_ms)

    def _update_warning(self, session: Session, loan_id: str, pledges: Mapping[str, Pledge],
                        at_ms: int) -> None:
        assets = {p.asset_id for p in pledges.values() if p.loan_id == loan_id}
        level, reason = loan_warning_level(
            a for (asset, _), a in self.open.items() if asset in assets)
        loan = session.get(Loan, loan_id)
        if loan is None or loan.warning_level == level.value:
            return
        previous = loan.warning_level
        loan.warning_level, loan.warning_reason = level.value, reason
        loan.warning_changed_ms = at_ms
        session.add(WarningChange(loan_id=loan_id, level=level.value, previous=previous,
                                  reason=reason, at_ms=at_ms))
        data = {"loan_id": loan_id, "level": level.value, "previous": previous, "reason": reason,
                "at": iso_ms(at_ms)}
        self._enqueue(session, loan.lender_id, "loan.warning_changed", data,
                      f"loan-{loan_id}-warning-{at_ms}-{level.value}", at_ms)
        log.info("loan %s warning %s -> %s (%s)", loan_id, previous, level.value, reason)

    def _enqueue(self, session: Session, lender_id: str, event_type: str, data: dict[str, Any],
                 event_id: str, at_ms: int) -> None:
        enqueue_event(session, lender_id=lender_id, event_type=event_type, data=data,
                      event_id=event_id, occurred_at=datetime.fromtimestamp(at_ms / 1000, UTC))
        self.events_enqueued += 1


def _last_time(changes: Iterable[AlertChange]) -> int:
    return max(c.alert.updated_at_ms for c in changes)


def _alert_data(alert_id: int, alert: Alert, pledge: Pledge, why: str) -> dict[str, Any]:
    """An alert event's ``data``: the alert, and why this event (e.g. what resolved it)."""
    return {
        "alert_id": alert_id,
        "asset_id": alert.asset_id,
        "loan_id": pledge.loan_id,
        "kind": alert.kind.value,
        "status": alert.status.value,
        "opened_at": iso_ms(alert.opened_at_ms),
        "updated_at": iso_ms(alert.updated_at_ms),
        "resolved_at": iso_ms(alert.resolved_at_ms),
        "reason": alert.reason,
        "details": dict(alert.details),
        "why": why,  # "condition started", "resolved by ana", "loan … closed: …", …
        "acknowledged_by": alert.acked_by,
        "resolved_by": alert.resolved_by,  # a person; null when the condition cleared
        "note": alert.note,  # the last person's note
    }


def _fill_row(row: AlertRow, alert: Alert) -> None:
    row.status = alert.status.value
    row.opened_at_ms = alert.opened_at_ms
    row.updated_at_ms = alert.updated_at_ms
    row.resolved_at_ms = alert.resolved_at_ms
    row.reason = alert.reason
    row.details = dict(alert.details)
    row.state = alert.to_dict()


def _alert_from_row(row: AlertRow) -> Alert:
    if row.state:
        return Alert.from_dict(row.state)
    return Alert(asset_id=row.asset_id, kind=AlertKind(row.kind), status=AlertStatus(row.status),
                 opened_at_ms=row.opened_at_ms, updated_at_ms=row.updated_at_ms,
                 resolved_at_ms=row.resolved_at_ms, reason=row.reason, details=row.details)


def _ms(at: datetime | None) -> int | None:
    """Epoch ms of a stored time."""
    return None if at is None else int(as_utc(at).timestamp() * 1000)
