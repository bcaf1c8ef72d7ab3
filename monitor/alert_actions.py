"""What a person does to an alert: acknowledge, resolve, snooze. Each is an event.

Pure functions like ``monitor.alerts``: they take the alert and ``now_ms``
and return the next alert and its events; the caller stores them and checks
who may act (the API's token user is ``by``).

>>> from monitor.alerts import AlertStatus
>>> from monitor.model import AlertKind
>>> alert = Alert("a1", AlertKind.IDLE, AlertStatus.OPEN, 0, 0)
>>> alert, events = acknowledge(alert, "ana", "borrower on holiday", 60_000)
>>> alert.acked_by, events[0].type.value
('ana', 'alert.acknowledged')
"""

from __future__ import annotations

from dataclasses import replace

from monitor.alerts import Alert, AlertEvent, AlertEventType, AlertStatus

__all__ = ["ACTIONS", "RECORDED", "AlertActionError", "act", "acknowledge", "release",
           "resolve_by_person", "snooze"]

#: What a person can do to an alert, which the monitor applies to its lifecycle.
ACTIONS = ("acknowledge", "resolve", "snooze")
#: What a person can record: the actions, or a note, which only records.
RECORDED = (*ACTIONS, "note")


class AlertActionError(ValueError):
    """A person's action that does not apply to the alert as it is (e.g. already resolved)."""


def acknowledge(alert: Alert, by: str, note: str, now_ms: int) -> tuple[Alert, list[AlertEvent]]:
    """A person has seen ``alert``: reminders stop; updates still flow."""
    _must_be_open(alert, "acknowledge")
    at = max(alert.updated_at_ms, now_ms)
    new = replace(alert, acked_by=by, acked_at_ms=at, note=note, updated_at_ms=at)
    return new, [AlertEvent(AlertEventType.ACKNOWLEDGED, new, at, f"acknowledged by {by}")]


def resolve_by_person(alert: Alert, by: str, note: str,
                      now_ms: int) -> tuple[Alert, list[AlertEvent]]:
    """A person closes ``alert`` (e.g. the asset was found and secured)."""
    return _resolve(alert, by, note, f"resolved by {by}", now_ms)


def release(alert: Alert, loan_id: str, now_ms: int) -> tuple[Alert, list[AlertEvent]]:
    """``alert``'s loan was closed (repaid or settled): its collateral is released and no
    longer watched, so what was open on it is resolved."""
    why = f"loan {loan_id} closed: collateral released"
    return _resolve(alert, None, why, why, now_ms)


def _resolve(alert: Alert, by: str | None, note: str, why: str,
             now_ms: int) -> tuple[Alert, list[AlertEvent]]:
    _must_be_open(alert, "resolve")
    at = max(alert.updated_at_ms, now_ms)
    new = replace(alert, status=AlertStatus.RESOLVED, resolved_at_ms=at, updated_at_ms=at,
                  resolved_by=by, note=note, last_notified_ms=at, clear_since_ms=None)
    return new, [AlertEvent(AlertEventType.RESOLVED, new, at, why)]


def snooze(alert: Alert, until_ms: int, by: str, note: str,
           now_ms: int) -> tuple[Alert, list[AlertEvent]]:
    """Hold back updates and reminders of ``alert`` until ``until_ms``; resolving still tells."""
    _must_be_open(alert, "snooze")
    if until_ms <= now_ms:
        raise AlertActionError("snooze must end in the future")
    at = max(alert.updated_at_ms, now_ms)
    new = replace(alert, snoozed_until_ms=until_ms, note=note, updated_at_ms=at)
    return new, [AlertEvent(AlertEventType.SNOOZED, new, at, f"snoozed by {by}")]


def act(alert: Alert, action: str, by: str, note: str, now_ms: int,
        until_ms: int | None = None) -> tuple[Alert, list[AlertEvent]]:
    """One of ``ACTIONS`` by name (``until_ms``: a snooze's end); AlertActionError if it
    does not apply."""
    if action == "acknowledge":
        return acknowledge(alert, by, note, now_ms)
    if action == "resolve":
        return resolve_by_person(alert, by, note, now_ms)
    if action == "snooze" and until_ms is not None:
        return snooze(alert, until_ms, by, note, now_ms)
    raise AlertActionError(f"cannot {action} without its end" if action == "snooze"
                           else f"no such action {action!r}")


def _must_be_open(alert: Alert, action: str) -> None:
    if alert.status is not AlertStatus.OPEN:
        raise AlertActionError(f"cannot {action} alert on {alert.asset_id} ({alert.kind.value}): "
                               f"it is {alert.status.value}")
