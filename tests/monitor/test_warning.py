from __future__ import annotations

import pytest

from monitor.alerts import Alert, AlertStatus
from monitor.model import AlertKind
from monitor.warning import KIND_LEVELS, WarningLevel, loan_warning_level
from tests.monitor.factories import T0

W = WarningLevel


def alert(asset: str, kind: AlertKind, status: AlertStatus = AlertStatus.OPEN) -> Alert:
    return Alert(asset, kind, status, T0, T0, reason=kind.value)


def test_levels_are_ordered_by_severity_not_alphabet() -> None:
    assert W.NORMAL < W.WATCH < W.WARNING < W.CRITICAL
    assert sorted([W.CRITICAL, W.NORMAL, W.WARNING, W.WATCH]) == list(W)
    assert max(W.WATCH, W.CRITICAL, W.WARNING) is W.CRITICAL
    assert W.WARNING >= W.WARNING and W.WATCH <= W.WARNING and not W.CRITICAL < W.NORMAL
    assert isinstance(W.CRITICAL, str) and W("critical") is W.CRITICAL  # a string on the wire


def test_no_open_alerts_is_normal() -> None:
    assert loan_warning_level([]) == (W.NORMAL, "no open alerts")


@pytest.mark.parametrize(("kind", "level"), [
    (AlertKind.GEOFENCE_EXIT, W.CRITICAL),
    (AlertKind.TAMPER, W.WARNING),
    (AlertKind.TRACKER_DARK, W.WARNING),
    (AlertKind.IDLE, W.WATCH),
    (AlertKind.POWER_CUT, W.WARNING),
    (AlertKind.JAMMING, W.WARNING),
    (AlertKind.SPOOFING, W.CRITICAL),
    (AlertKind.CLONING, W.CRITICAL),
    (AlertKind.EQUIPMENT_FAULT, W.WATCH),
    (AlertKind.FUEL_THEFT, W.WATCH),
])
def test_one_alert_sets_its_kinds_level(kind: AlertKind, level: WarningLevel) -> None:
    assert loan_warning_level([alert("truck-7", kind)]) == (level, f"{kind.value} on truck-7")


def test_every_alert_kind_has_a_level() -> None:
    assert set(KIND_LEVELS) == set(AlertKind)


def test_power_cut_then_dark_on_one_truck_is_critical() -> None:
    level, reason = loan_warning_level([alert("t1", AlertKind.TAMPER),
                                        alert("t1", AlertKind.TRACKER_DARK)])
    assert level is W.CRITICAL
    assert reason == "several warning signs at once: tamper on t1, tracker_dark on t1"


def test_two_assets_dark_at_once_is_critical() -> None:
    level, _ = loan_warning_level([alert("t1", AlertKind.TRACKER_DARK),
                                   alert("t2", AlertKind.TRACKER_DARK)])
    assert level is W.CRITICAL


def test_watch_signs_do_not_add_up() -> None:
    idle = [alert(f"t{i}", AlertKind.IDLE) for i in range(5)]
    level, reason = loan_warning_level(idle)
    assert level is W.WATCH
    assert reason == "idle on t0, idle on t1, idle on t2 and 2 more"


def test_the_highest_level_wins_and_names_its_alerts() -> None:
    alerts = [alert("t1", AlertKind.IDLE), alert("t2", AlertKind.GEOFENCE_EXIT),
              alert("t3", AlertKind.TAMPER)]
    assert loan_warning_level(alerts) == (W.CRITICAL, "geofence_exit on t2")


def test_resolved_alerts_are_ignored() -> None:
    alerts = [alert("t1", AlertKind.GEOFENCE_EXIT, AlertStatus.RESOLVED),
              alert("t2", AlertKind.IDLE)]
    assert loan_warning_level(iter(alerts)) == (W.WATCH, "idle on t2")
