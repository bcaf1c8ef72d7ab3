from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from ingest.wire import Reading
from monitor.detectors.idle import IdleDetector
from monitor.model import Finding
from tests.monitor.factories import HOUR, MIN, T0, Event, make_pledge, make_reading, run_detector

PLEDGE = make_pledge(idle_after_s=4 * 3600)
OFF: dict[str, Any] = {"ignition": False, "engine_rpm": 0.0, "power_kw": 0.0, "speed_kmh": 0.0}


def findings(events: Iterable[Event], pledge: Any = PLEDGE) -> list[Finding]:
    return run_detector(IdleDetector(), list(events), pledge)[1]


def readings(start: int, hours: float, step: int = 5 * MIN, **fields: Any) -> list[Event]:
    return [Event(ts, make_reading(ts, **fields))
            for ts in range(start, start + int(hours * HOUR), step)]


def test_engine_off_longer_than_the_threshold_raises_at_the_first_reading_past_it() -> None:
    found = findings(readings(T0, 5, **OFF))
    assert [f.active for f in found] == [True]
    assert found[0].at_ms == T0 + 4 * HOUR
    assert found[0].details == {"idle_since_ms": T0, "idle_s": 4 * 3600.0}


def test_short_stops_raise_nothing() -> None:
    day = []
    for shift in range(4):  # 3 h off, 3 h working, all day
        start = T0 + shift * 6 * HOUR
        day += readings(start, 3, **OFF)
        day += readings(start + 3 * HOUR, 3, ignition=True, engine_rpm=1500.0)
    assert findings(day) == []


@pytest.mark.parametrize("activity", [
    {"ignition": True},
    {"engine_rpm": 900.0},
    {"power_kw": 12.0},
    {"power_kw": -8.0},  # delivering power counts as work
    {"speed_kmh": 25.0},
])
def test_any_activity_clears(activity: dict[str, Any]) -> None:
    busy = {**OFF, **activity}
    found = findings(readings(T0, 5, **OFF) + readings(T0 + 5 * HOUR, 1, **busy))
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + 4 * HOUR), (False, T0 + 5 * HOUR)]


def test_noise_below_the_thresholds_is_not_activity() -> None:
    noise: dict[str, Any] = {"engine_rpm": 20.0, "power_kw": 0.2, "speed_kmh": 2.0}
    assert [f.active for f in findings(readings(T0, 5, **noise))] == [True]


def test_missing_ignition_with_a_still_engine_counts_as_off() -> None:
    assert [f.active for f in findings(readings(T0, 5, engine_rpm=0.0))] == [True]


def test_readings_without_activity_fields_are_no_evidence() -> None:
    # A tracker that only reports temperature never makes its asset look idle ...
    assert findings(readings(T0, 30, temp_c=4.0)) == []
    # ... and does not break a run of evidence either.
    mixed = readings(T0, 5, step=10 * MIN, **OFF) + readings(T0 + 5 * MIN, 5, step=10 * MIN,
                                                              temp_c=4.0)
    mixed.sort(key=lambda e: e.now_ms)
    assert [f.at_ms for f in findings(mixed)] == [T0 + 4 * HOUR]


def test_ticks_alone_never_raise_idle() -> None:
    last_evidence = readings(T0, 1, **OFF)
    ticks = [Event(ts) for ts in range(T0 + HOUR, T0 + 48 * HOUR, 5 * MIN)]
    assert findings(last_evidence + ticks) == []


def test_a_long_idle_is_retold_once_per_threshold_period() -> None:
    found = findings(readings(T0, 13, **OFF))
    assert [(f.at_ms - T0) // HOUR for f in found] == [4, 8, 12]
    assert [f.details["idle_s"] for f in found] == [4 * 3600.0, 8 * 3600.0, 12 * 3600.0]


def test_pledge_threshold_is_used() -> None:
    quick = make_pledge(idle_after_s=30 * 60)
    assert [f.at_ms for f in findings(readings(T0, 1, **OFF), quick)] == [T0 + 30 * MIN]


def test_a_late_active_reading_is_ignored() -> None:
    detector = IdleDetector()
    state, _ = run_detector(detector, readings(T0, 3, **OFF), PLEDGE)
    late: Reading = make_reading(T0 + HOUR, ignition=True)
    state, found = detector.on_reading(state, late, PLEDGE)
    assert list(found) == [] and state.idle_since_ms == T0


def test_planned_downtime_suppresses_idle_and_the_count_restarts_after_it() -> None:
    from monitor.detectors.idle import IdleDetector
    from tests.monitor.factories import HOUR, T0, Event, make_pledge, make_reading, run_detector
    pledge = make_pledge(idle_after_s=3 * 3600, planned_downtime=((T0, T0 + 24 * HOUR),))
    events = [Event(ts, make_reading(ts, ignition=False, engine_rpm=0.0))
              for ts in range(T0, T0 + 30 * HOUR, HOUR)]
    found = run_detector(IdleDetector(), events, pledge)[1]
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + 27 * HOUR)]


def test_a_fading_duty_cycle_is_caught_against_the_assets_own_baseline() -> None:
    """Two weeks of 08-18 work, then working hours fade out: fewer each day, never none."""
    from dataclasses import replace

    from monitor.detectors.idle import IdleDetector
    from tests.monitor.factories import (
        HOUR,
        MIN,
        T0,
        Event,
        make_pledge,
        make_reading,
        run_detector,
    )
    pledge = replace(make_pledge(idle_after_s=40 * 3600), asset_kind="plant")
    events = []
    for h in range(24 * 21):
        local = (h + 12) % 24  # the anchor is at 11.6 E: UTC+1
        day = h // 24
        fading = day >= 14 and (h * 7919) % 10 < min(day - 13, 9)  # lose 1/10 more each day
        working = 8 <= local < 18 and not fading
        for m in range(0, 60, 15):
            ts = T0 + h * HOUR + m * MIN
            events.append(Event(ts, make_reading(ts, ignition=working)))
    found = run_detector(IdleDetector(), events, pledge)[1]
    assert found and found[0].active and found[0].details["rule"] == "below own baseline"
    assert T0 + 14 * 24 * HOUR < found[0].at_ms < T0 + 19 * 24 * HOUR


def test_trucks_have_no_seasonal_baseline_to_fall_short_of() -> None:
    from monitor.detectors.idle import IdleDetector
    from tests.monitor.factories import HOUR, T0, Event, make_pledge, make_reading, run_detector
    events = [Event(T0 + h * HOUR, make_reading(T0 + h * HOUR, ignition=h < 24 * 10 and h % 3 == 0))
              for h in range(24 * 12)]
    assert run_detector(IdleDetector(), events, make_pledge(idle_after_s=10 ** 7))[1] == []
