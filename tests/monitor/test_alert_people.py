"""Flapping, reminders, maintenance windows and people's actions on alerts."""

from __future__ import annotations

import pytest

from monitor.alert_actions import AlertActionError, acknowledge, resolve_by_person, snooze
from monitor.alerts import Alert, AlertPolicy, AlertStatus, apply_finding, apply_tick
from monitor.model import AlertKind, Finding
from tests.monitor.factories import HOUR, MIN, T0

POLICY = AlertPolicy(resolve_hold_down_ms=10 * MIN, update_notify_interval_ms=HOUR,
                     reminder_interval_ms=4 * HOUR, flap_window_ms=HOUR, flap_threshold=3,
                     flap_hold_factor=4)


def f(at_ms: int, active: bool = True, reason: str = "outside") -> Finding:
    return Finding("a1", AlertKind.GEOFENCE_EXIT, active, at_ms, reason)


def run(alert: Alert | None, steps: list[Finding | int],
        maintenance: tuple[tuple[int, int], ...] = ()) -> tuple[Alert | None, list[str]]:
    """Apply findings and ticks (an int is a tick at that time); collect event types."""
    events: list[str] = []
    for step in steps:
        if isinstance(step, int):
            alert, out = apply_tick(alert, step, POLICY, maintenance)
        else:
            alert, out = apply_finding(alert, step, POLICY, maintenance)
        events += [e.type.value for e in out]
    return alert, events


def flap(times: int) -> list[Finding | int]:
    """The condition comes and goes every 20 minutes, ``times`` times."""
    steps: list[Finding | int] = []
    for i in range(times):
        t = T0 + i * 20 * MIN
        steps += [f(t), f(t + 5 * MIN, active=False), t + 16 * MIN]
    return steps


def test_a_condition_back_soon_after_resolving_reopens_the_same_alert() -> None:
    alert, events = run(None, flap(2))
    assert events == ["alert.opened", "alert.resolved", "alert.reopened", "alert.resolved"]
    assert alert is not None and alert.opened_at_ms == T0 and alert.reopened == 1


def test_a_flapping_alert_goes_quiet_and_holds_longer() -> None:
    alert, events = run(None, flap(6))
    assert events.count("alert.reopened") == 3  # the third says it is flapping
    assert events[-1] == "alert.reopened"  # the 4x hold-down keeps it open from then on
    assert alert is not None and alert.status is AlertStatus.OPEN and alert.reopened == 3


def test_after_the_flap_window_a_new_alert_opens() -> None:
    alert, events = run(None, [f(T0), f(T0 + MIN, False), T0 + 11 * MIN, f(T0 + 2 * HOUR)])
    assert events == ["alert.opened", "alert.resolved", "alert.opened"]
    assert alert is not None and alert.opened_at_ms == T0 + 2 * HOUR


def test_reminders_repeat_until_acknowledged() -> None:
    alert, events = run(None, [f(T0), T0 + 3 * HOUR, T0 + 4 * HOUR, T0 + 5 * HOUR,
                               T0 + 8 * HOUR])
    assert events == ["alert.opened", "alert.reminder", "alert.reminder"]
    assert alert is not None
    alert, out = acknowledge(alert, "risk@bank", "calling the borrower", T0 + 9 * HOUR)
    assert [e.type.value for e in out] == ["alert.acknowledged"]
    assert (alert.acked_by, alert.note) == ("risk@bank", "calling the borrower")
    _, events = run(alert, [T0 + 20 * HOUR])
    assert events == []


def test_snooze_holds_back_updates_and_reminders_but_not_the_resolution() -> None:
    alert, _ = run(None, [f(T0)])
    assert alert is not None
    alert, out = snooze(alert, T0 + 10 * HOUR, "ops", "known, towing to repair", T0 + MIN)
    assert [e.type.value for e in out] == ["alert.snoozed"]
    alert, events = run(alert, [T0 + 5 * HOUR, f(T0 + 6 * HOUR, reason="further"),
                                f(T0 + 7 * HOUR, False), T0 + 8 * HOUR])
    assert events == ["alert.resolved"]


def test_resolve_by_a_person_records_who_and_why() -> None:
    alert, _ = run(None, [f(T0)])
    assert alert is not None
    alert, out = resolve_by_person(alert, "ana", "asset found at the yard", T0 + HOUR)
    assert [e.type.value for e in out] == ["alert.resolved"]
    assert (alert.status, alert.resolved_by, alert.note) == (AlertStatus.RESOLVED, "ana",
                                                             "asset found at the yard")
    assert "ana" in out[0].why
    with pytest.raises(AlertActionError, match="resolved"):
        acknowledge(alert, "bob", "", T0 + 2 * HOUR)
    _, events = run(alert, [f(T0 + HOUR + MIN)])  # not a flap: a person closed it
    assert events == ["alert.opened"]


def test_an_alert_opened_in_maintenance_is_told_only_if_it_outlasts_it() -> None:
    window = ((T0, T0 + 2 * HOUR),)
    _, events = run(None, [f(T0 + MIN), f(T0 + 30 * MIN, False), T0 + HOUR], window)
    assert events == []
    alert, events = run(None, [f(T0 + MIN), T0 + HOUR, T0 + 3 * HOUR], window)
    assert events == ["alert.opened"]
    assert alert is not None and not alert.muted


def test_new_fields_round_trip() -> None:
    alert, _ = run(None, [f(T0)])
    assert alert is not None
    alert, _ = snooze(alert, T0 + HOUR, "ops", "n", T0)
    assert Alert.from_dict(alert.to_dict()) == alert
