from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.alerts import (
    Alert,
    AlertEventType,
    AlertPolicy,
    AlertStatus,
    apply_finding,
    apply_tick,
)
from monitor.model import AlertKind, Finding
from tests.monitor.factories import HOUR, MIN, T0

POLICY = AlertPolicy(resolve_hold_down_ms=15 * MIN, update_notify_interval_ms=HOUR)


def finding(at_ms: int, active: bool = True, reason: str = "outside pledged site",
            **details: Any) -> Finding:
    return Finding("a1", AlertKind.GEOFENCE_EXIT, active, at_ms, reason, details)


def opened(at_ms: int = T0) -> Alert:
    alert, _ = apply_finding(None, finding(at_ms), POLICY)
    assert alert is not None
    return alert


def step(alert: Alert | None, f: Finding) -> tuple[Alert, list[str]]:
    new, events = apply_finding(alert, f, POLICY)
    assert new is not None
    return new, [e.type.value for e in events]


def test_first_active_finding_opens_an_alert() -> None:
    alert, events = apply_finding(None, finding(T0, distance_m=5000), POLICY)
    assert alert is not None and alert.status is AlertStatus.OPEN
    assert (alert.opened_at_ms, alert.updated_at_ms, alert.resolved_at_ms) == (T0, T0, None)
    assert alert.details == {"distance_m": 5000}
    assert [(e.type, e.at_ms, e.alert) for e in events] == [(AlertEventType.OPENED, T0, alert)]


def test_a_clear_finding_without_an_alert_changes_nothing() -> None:
    assert apply_finding(None, finding(T0, active=False), POLICY) == (None, [])


def test_updates_are_silent_within_the_notify_interval() -> None:
    alert, kinds = step(opened(), finding(T0 + 10 * MIN, distance_m=6000))
    assert kinds == [] and alert.updated_at_ms == T0 + 10 * MIN
    assert alert.details == {"distance_m": 6000} and alert.opened_at_ms == T0


def test_an_update_is_sent_at_most_once_per_interval() -> None:
    alert, sent = opened(), []
    for minute in range(5, 3 * 60 + 1, 5):
        alert, kinds = step(alert, finding(T0 + minute * MIN))
        sent += [minute for _ in kinds]
    assert sent == [60, 120, 180]


def test_a_changed_reason_is_sent_at_once() -> None:
    _, kinds = step(opened(), finding(T0 + MIN, reason="tracker case opened; power cut"))
    assert kinds == ["alert.updated"]


def test_resolves_after_the_hold_down_on_tick() -> None:
    alert, kinds = step(opened(), finding(T0 + HOUR, active=False))
    assert kinds == [] and alert.status is AlertStatus.OPEN and alert.clear_since_ms == T0 + HOUR
    assert apply_tick(alert, T0 + HOUR + 14 * MIN, POLICY) == (alert, [])
    resolved, events = apply_tick(alert, T0 + HOUR + 20 * MIN, POLICY)
    assert resolved is not None and resolved.status is AlertStatus.RESOLVED
    # When the hold-down ran out, however late the tick noticed it.
    assert resolved.resolved_at_ms == T0 + HOUR + 15 * MIN
    assert [(e.type, e.at_ms) for e in events] == [(AlertEventType.RESOLVED, T0 + HOUR + 15 * MIN)]
    assert "hold-down 900 s" in events[0].why


def test_an_active_finding_during_hold_down_cancels_the_resolve() -> None:
    alert, _ = step(opened(), finding(T0 + 20 * MIN, active=False))
    alert, kinds = step(alert, finding(T0 + 25 * MIN))
    assert kinds == [] and alert.clear_since_ms is None
    assert apply_tick(alert, T0 + 3 * HOUR, POLICY) == (alert, [])  # (a reminder comes at 4 h)


def test_repeated_clear_findings_keep_the_first_clear_time() -> None:
    alert, _ = step(opened(), finding(T0 + HOUR, active=False))
    alert, kinds = step(alert, finding(T0 + HOUR + 5 * MIN, active=False))
    assert kinds == [] and alert.clear_since_ms == T0 + HOUR
    alert, kinds = step(alert, finding(T0 + HOUR + 15 * MIN, active=False))
    assert kinds == ["alert.resolved"]


def test_zero_hold_down_resolves_on_the_clear_finding() -> None:
    now = AlertPolicy(resolve_hold_down_ms=0)
    resolved, events = apply_finding(opened(), finding(T0 + HOUR, active=False), now)
    assert resolved is not None and resolved.status is AlertStatus.RESOLVED
    assert resolved.resolved_at_ms == T0 + HOUR
    assert [e.type for e in events] == [AlertEventType.RESOLVED]


def test_an_active_finding_after_resolution_opens_a_new_alert() -> None:
    alert, _ = step(opened(), finding(T0 + HOUR, active=False))
    resolved, _ = apply_tick(alert, T0 + 2 * HOUR, POLICY)
    assert resolved is not None
    again, kinds = step(resolved, finding(T0 + 3 * HOUR))
    assert kinds == ["alert.opened"]
    assert again.opened_at_ms == T0 + 3 * HOUR and again.resolved_at_ms is None
    assert step(resolved, finding(T0 + 3 * HOUR, active=False)) == (resolved, [])


def test_timestamps_never_go_backwards() -> None:
    # A tracker_dark clear can carry the device time of a reading older than the tick
    # that opened the alert.
    alert, _ = step(opened(T0 + HOUR), finding(T0 + HOUR - 2 * MIN, active=False))
    resolved, _ = apply_tick(alert, T0 + 2 * HOUR, POLICY)
    assert resolved is not None and resolved.resolved_at_ms is not None
    assert resolved.opened_at_ms <= resolved.updated_at_ms == resolved.resolved_at_ms


def test_tick_leaves_missing_and_resolved_alerts_alone() -> None:
    assert apply_tick(None, T0, POLICY) == (None, [])
    resolved = Alert("a1", AlertKind.IDLE, AlertStatus.RESOLVED, T0, T0, T0, clear_since_ms=T0)
    assert apply_tick(resolved, T0 + 10 * HOUR, POLICY) == (resolved, [])


@pytest.mark.parametrize("alert", [
    Alert("a1", AlertKind.TAMPER, AlertStatus.OPEN, T0, T0 + 1, None, "case", {"cause": "x"},
          clear_since_ms=T0 + 1, last_notified_ms=T0),
    Alert("a2", AlertKind.IDLE, AlertStatus.RESOLVED, T0, T0 + 9, T0 + 9),
])
def test_alerts_round_trip_through_json(alert: Alert) -> None:
    assert Alert.from_dict(json.loads(json.dumps(alert.to_dict()))) == alert


def test_an_alert_restored_without_notify_time_counts_from_opening() -> None:
    bare = Alert.from_dict({"asset_id": "a1", "kind": "geofence_exit", "status": "open",
                            "opened_at_ms": T0, "updated_at_ms": T0,
                            "reason": "outside pledged site"})
    assert step(bare, finding(T0 + 59 * MIN))[1] == []
    assert step(bare, finding(T0 + 60 * MIN))[1] == ["alert.updated"]
