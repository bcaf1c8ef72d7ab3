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

>>> from monitor.model import AlertKind, Finding
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

from monitor.model import AlertKind, Finding

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
        )


class AlertEventType(StrEnum):
    OPENED = "alert.opened"
    UPDATED = "alert.updated"
    RESOLVED = "alert.resolved"


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


def apply_finding(
    current: Alert | None, finding: Finding, policy: AlertPolicy
) -> tuple[Alert | None, list[AlertEvent]]:
    """The alert after ``finding``, and the events that change causes."""
    if current is None or current.status is AlertStatus.RESOLVED:
        if not finding.active:
            return current, []
        return _open(finding)
    if finding.active:
        return _continue(current, finding, policy)
    return _clear(current, finding, policy)


def apply_tick(
    current: Alert | None, now_ms: int, policy: AlertPolicy
) -> tuple[Alert | None, list[AlertEvent]]:
    """Resolve ``current`` if its hold-down has run out by ``now_ms``."""
    if current is None:
        return None, []
    why = resolve_reason(current, now_ms, policy)
    if why is None or current.clear_since_ms is None:
        return current, []
    at = max(current.updated_at_ms, current.clear_since_ms + policy.resolve_hold_down_ms)
    alert = replace(current, status=AlertStatus.RESOLVED, resolved_at_ms=at, updated_at_ms=at,
                    last_notified_ms=at)
    return alert, [AlertEvent(AlertEventType.RESOLVED, alert, at, why)]


def resolve_reason(alert: Alert, now_ms: int, policy: AlertPolicy) -> str | None:
    """Why ``alert`` resolves at ``now_ms``, or None if it does not."""
    if alert.status is not AlertStatus.OPEN or alert.clear_since_ms is None:
        return None
    clear_ms = now_ms - alert.clear_since_ms
    if clear_ms < policy.resolve_hold_down_ms:
        return None
    hold_s = policy.resolve_hold_down_ms / 1000
    return f"clear for {clear_ms / 1000:.0f} s (hold-down {hold_s:.0f} s)"


def notify_reason(alert: Alert, finding: Finding, policy: AlertPolicy) -> str | None:
    """Why an active ``finding`` on open ``alert`` is worth an update event, or None."""
    if finding.reason != alert.reason:
        return f"reason changed from {alert.reason!r}"
    last = alert.last_notified_ms if alert.last_notified_ms is not None else alert.opened_at_ms
    if finding.at_ms - last >= policy.update_notify_interval_ms:
        return f"still active {(finding.at_ms - alert.opened_at_ms) / 60_000:.0f} min after opening"
    return None


def _open(finding: Finding) -> tuple[Alert, list[AlertEvent]]:
    at = finding.at_ms
    alert = Alert(asset_id=finding.asset_id, kind=finding.kind, status=AlertStatus.OPEN,
                  opened_at_ms=at, updated_at_ms=at, reason=finding.reason,
                  details=finding.details, last_notified_ms=at)
    return alert, [AlertEvent(AlertEventType.OPENED, alert, at, "condition started")]


def _continue(current: Alert, finding: Finding,
              policy: AlertPolicy) -> tuple[Alert, list[AlertEvent]]:
    why = notify_reason(current, finding, policy)
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
    alert, events = apply_tick(current, finding.at_ms, policy)
    assert alert is not None
    return alert, events


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
