"""The alert lifecycle, as pure functions over frozen ``Alert`` values.

Alerts are keyed by (asset_id, kind). Each call takes the current alert (or
None), a finding or a ``now_ms``, and the policy, and returns the next alert
and the events the change causes; only the caller stores anything.

- An active finding with no open alert opens one (``alert.opened``); after a
  resolution it opens a new one.
- Active findings while open update it; ``alert.updated`` is sent when the
  reason changes, or at most once per ``update_notify_interval_ms``.
- A clear finding starts the hold-down (``clear_since_ms``); an active
  finding during the hold-down cancels it; ``apply_tick`` resolves the alert
  once the condition has stayed clear for ``resolve_hold_down_ms``
  (``alert.resolved``). With a hold-down of 0 the clear finding resolves it.
- All times are device time; an alert's timestamps never go backwards, and
  ``resolved_at_ms`` is when the hold-down ran out, whenever it was noticed.
- Flapping: an active finding within ``flap_window_ms`` of the resolution
  reopens the same alert (``alert.reopened``) instead of a new one; from
  ``flap_threshold`` reopenings on it is flapping: reopenings are silent and
  its hold-down is ``flap_hold_factor`` times longer, so it stays open.
- Reminders: ``apply_tick`` re-sends an open alert nobody acknowledged
  (``alert.reminder``) every ``reminder_interval_ms``.
- People act through ``monitor.alert_actions`` (acknowledge, resolve,
  snooze), each recording who and a note, each an event.
- Maintenance: an alert opened inside one of the asset's maintenance
  windows is muted (no events); if it is still open when the window ends,
  ``apply_tick`` sends ``alert.opened`` then.

>>> from monitor.model import AlertKind, Finding, Window, in_windows
>>> policy = AlertPolicy(resolve_hold_down_ms=60_000)
>>> alert, events = apply_finding(None, Finding("a1", AlertKind.TAMPER, True, 0, "case"), policy)
>>> alert, events = apply_finding(alert, Finding("a1", AlertKind.TAMPER, False, 10, "ok"), policy)
>>> events, alert.status.value
([], 'open')
>>> alert, events = apply_tick(alert, 60_010, policy)
>>> [e.type.value for e in events], alert.resolved_at_ms
(['alert.resolved'], 60010)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from monitor.model import AlertKind, Finding, Window, in_windows

__all__ = [
    "AlertStatus",
    "Alert",
    "AlertEventType",
    "AlertEvent",
    "AlertPolicy",
    "apply_finding",
    "apply_tick",
    "notify_reason",
    "resolve_reason",
]


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    asset_id: str
    kind: AlertKind
    status: AlertStatus
    opened_at_ms: int
    updated_at_ms: int
    resolved_at_ms: int | None = None
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    clear_since_ms: int | None = None  # set while a resolve is pending (hold-down)
    last_notified_ms: int | None = None  # last event sent; None: never since a restore
    reopened: int = 0  # reopenings within the flap window of a resolution
    acked_by: str | None = None
    acked_at_ms: int | None = None
    resolved_by: str | None = None  # a person; None when the condition cleared
    note: str = ""  # the last person's note
    snoozed_until_ms: int | None = None
    muted: bool = False  # opened in a maintenance window; nobody told yet

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "kind": self.kind.value,
            "status": self.status.value,
            "opened_at_ms": self.opened_at_ms,
            "updated_at_ms": self.updated_at_ms,
            "resolved_at_ms": self.resolved_at_ms,
            "reason": self.reason,
            "details": dict(self.details),
            "clear_since_ms": self.clear_since_ms,
            "last_notified_ms": self.last_notified_ms,
            "reopened": self.reopened,
            "acked_by": self.acked_by,
            "acked_at_ms": self.acked_at_ms,
            "resolved_by": self.resolved_by,
            "note": self.note,
            "snoozed_until_ms": self.snoozed_until_ms,
            "muted": self.muted,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        return cls(
            asset_id=data["asset_id"],
            kind=AlertKind(data["kind"]),
            status=AlertStatus(data["status"]),
            opened_at_ms=int(data["opened_at_ms"]),
            updated_at_ms=int(data["updated_at_ms"]),
            resolved_at_ms=_int_or_none(data.get("resolved_at_ms")),
            reason=str(data.get("reason", "")),
            details=dict(data.get("details") or {}),
            clear_since_ms=_int_or_none(data.get("clear_since_ms")),
            last_notified_ms=_int_or_none(data.get("last_notified_ms")),
            reopened=int(data.get("reopened", 0)),
            acked_by=data.get("acked_by"),
            acked_at_ms=_int_or_none(data.get("acked_at_ms")),
            resolved_by=data.get("resolved_by"),
            note=str(data.get("note", "")),
            snoozed_until_ms=_int_or_none(data.get("snoozed_until_ms")),
            muted=bool(data.get("muted", False)),
        )

    def quiet_at(self, now_ms: int) -> bool:
        """Whether updates and reminders are held back at ``now_ms`` (muted or snoozed)."""
        return self.muted or (self.snoozed_until_ms is not None and now_ms < self.snoozed_until_ms)


class AlertEventType(StrEnum):
    OPENED = "alert.opened"
    UPDATED = "alert.updated"
    RESOLVED = "alert.resolved"
    REOPENED = "alert.reopened"
    REMINDER = "alert.reminder"
    ACKNOWLEDGED = "alert.acknowledged"
    SNOOZED = "alert.snoozed"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    type: AlertEventType
    alert: Alert
    at_ms: int
    why: str = ""  # the decision's reason, for logs and audit


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    resolve_hold_down_ms: int = 15 * 60_000
    update_notify_interval_ms: int = 60 * 60_000
    reminder_interval_ms: int = 4 * 3_600_000
    flap_window_ms: int = 60 * 60_000
    flap_threshold: int = 3
    flap_hold_factor: int = 4

    def hold_down_ms(self, alert: Alert) -> int:
        flapping = alert.reopened >= self.flap_threshold
        return self.resolve_hold_down_ms * (self.flap_hold_factor if flapping else 1)


def apply_finding(
    current: Alert | None, finding: Finding, policy: AlertPolicy,
    maintenance: tuple[Window, ...] = (),
) -> tuple[Alert | None, list[AlertEvent]]:
    """The alert after ``finding``, and the events that change causes.

    ``maintenance`` is the asset's maintenance windows (device time).
    """
    if current is None or current.status is AlertStatus.RESOLVED:
        if not finding.active:
            return current, []
        if current is not None and _within_flap_window(current, finding.at_ms, policy):
            return _reopen(current, finding, policy)
        return _open(finding, in_windows(maintenance, finding.at_ms))
    if finding.active:
        return _continue(current, finding, policy)
    return _clear(current, finding, policy)


def apply_tick(
    current: Alert | None, now_ms: int, policy: AlertPolicy,
    maintenance: tuple[Window, ...] = (),
) -> tuple[Alert | None, list[AlertEvent]]:
    """Resolve ``current`` if its hold-down has run out by ``now_ms``; unmute; remind."""
    if current is None or current.status is AlertStatus.RESOLVED:
        return current, []
    why = resolve_reason(current, now_ms, policy)
    if why is not None and current.clear_since_ms is not None:
        at = max(current.updated_at_ms, current.clear_since_ms + policy.hold_down_ms(current))
        alert = replace(current, status=AlertStatus.RESOLVED, resolved_at_ms=at,
                        updated_at_ms=at, last_notified_ms=at)
        # Nobody was told of a muted alert, so nobody is told it is over.
        return alert, [] if current.muted else [AlertEvent(AlertEventType.RESOLVED, alert, at,
                                                           why)]
    if current.muted:
        if in_windows(maintenance, now_ms):
            return current, []
        alert = replace(current, muted=False, last_notified_ms=now_ms)
        return alert, [AlertEvent(AlertEventType.OPENED, alert, now_ms,
                                  "still open after the maintenance window")]
    return _remind(current, now_ms, policy)


def resolve_reason(alert: Alert, now_ms: int, policy: AlertPolicy) -> str | None:
    """Why ``alert`` resolves at ``now_ms``, or None if it does not."""
    if alert.status is not AlertStatus.OPEN or alert.clear_since_ms is None:
        return None
    clear_ms = now_ms - alert.clear_since_ms
    hold_ms = policy.hold_down_ms(alert)
    if clear_ms < hold_ms:
        return None
    flapping = " while flapping" if hold_ms != policy.resolve_hold_down_ms else ""
    return f"clear for {clear_ms / 1000:.0f} s (hold-down {hold_ms / 1000:.0f} s{flapping})"


def notify_reason(alert: Alert, finding: Finding, policy: AlertPolicy) -> str | None:
    """Why an active ``finding`` on open ``alert`` is worth an update event, or None."""
    if finding.reason != alert.reason:
        return f"reason changed from {alert.reason!r}"
    last = alert.last_notified_ms if alert.last_notified_ms is not None else alert.opened_at_ms
    if finding.at_ms - last >= policy.update_notify_interval_ms:
        return f"still active {(finding.at_ms - alert.opened_at_ms) / 60_000:.0f} min after opening"
    return None


def _open(finding: Finding, muted: bool) -> tuple[Alert, list[AlertEvent]]:
    at = finding.at_ms
    alert = Alert(asset_id=finding.asset_id, kind=finding.kind, status=AlertStatus.OPEN,
                  opened_at_ms=at, updated_at_ms=at, reason=finding.reason,
                  details=finding.details, last_notified_ms=at, muted=muted)
    if muted:
        return alert, []
    return alert, [AlertEvent(AlertEventType.OPENED, alert, at, "condition started")]


def _within_flap_window(alert: Alert, at_ms: int, policy: AlertPolicy) -> bool:
    return (alert.resolved_by is None and alert.resolved_at_ms is not None
            and at_ms - alert.resolved_at_ms < policy.flap_window_ms)


def _reopen(current: Alert, finding: Finding,
            policy: AlertPolicy) -> tuple[Alert, list[AlertEvent]]:
    at = max(current.updated_at_ms, finding.at_ms)
    count = current.reopened + 1
    alert = replace(current, status=AlertStatus.OPEN, resolved_at_ms=None, updated_at_ms=at,
                    reason=finding.reason, details=finding.details, clear_since_ms=None,
                    reopened=count, last_notified_ms=at)
    if current.muted or count > policy.flap_threshold:
        return alert, []  # flapping: told once, at the threshold
    why = (f"flapping: reopened {count} times within the flap window"
           if count == policy.flap_threshold else "condition back soon after resolving")
    return alert, [AlertEvent(AlertEventType.REOPENED, alert, at, why)]


def _remind(current: Alert, now_ms: int, policy: AlertPolicy) -> tuple[Alert, list[AlertEvent]]:
    if current.acked_by is not None or current.quiet_at(now_ms):
        return current, []
    last = current.last_notified_ms if current.last_notified_ms is not None else \
        current.opened_at_ms
    if now_ms - last < policy.reminder_interval_ms:
        return current, []
    alert = replace(current, last_notified_ms=now_ms)
    hours = (now_ms - current.opened_at_ms) / 3_600_000
    return alert, [AlertEvent(AlertEventType.REMINDER, alert, now_ms,
                              f"open {hours:.1f} h and not acknowledged")]


def _continue(current: Alert, finding: Finding,
              policy: AlertPolicy) -> tuple[Alert, list[AlertEvent]]:
    why = None if current.quiet_at(finding.at_ms) else notify_reason(current, finding, policy)
    at = max(current.updated_at_ms, finding.at_ms)
    alert = replace(current, updated_at_ms=at, reason=finding.reason, details=finding.details,
                    clear_since_ms=None,
                    last_notified_ms=at if why is not None else current.last_notified_ms)
    if why is None:
        return alert, []
    return alert, [AlertEvent(AlertEventType.UPDATED, alert, at, why)]


def _clear(current: Alert, finding: Finding,
           policy: AlertPolicy) -> tuple[Alert, list[AlertEvent]]:
    if current.clear_since_ms is None:
        current = replace(current, clear_since_ms=finding.at_ms,
                          updated_at_ms=max(current.updated_at_ms, finding.at_ms))
    if resolve_reason(current, finding.at_ms, policy) is None:
        return current, []
    alert, events = apply_tick(current, finding.at_ms, policy)
    assert alert is not None
    return alert, events


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
