from __future__ import annotations

from typing import Any

from monitor.detectors.jamming import JammingDetector
from monitor.model import Finding
from tests.monitor.factories import (
    ANCHOR,
    MIN,
    T0,
    Event,
    fix,
    make_pledge,
    make_reading,
    run_detector,
)

ENGINE = {"ignition": True, "engine_rpm": 1500.0}


def run(steps: list[dict[str, Any] | None]) -> list[Finding]:
    """One reading per 5 minutes: a dict is a fix-less reading with those fields, None a fix."""
    events = [Event(T0 + i * 5 * MIN,
                    fix(T0 + i * 5 * MIN, ANCHOR, **ENGINE) if s is None
                    else make_reading(T0 + i * 5 * MIN, gnss_fix=0, **s))
              for i, s in enumerate(steps)]
    return run_detector(JammingDetector(), events, make_pledge())[1]


def test_fix_lost_with_engine_running_for_fifteen_minutes_raises_and_clears() -> None:
    found = run([None, *[ENGINE] * 5, None, None])
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + 20 * MIN), (False, T0 + 35 * MIN)]


def test_a_short_tunnel_stays_quiet() -> None:
    assert run([None, ENGINE, ENGINE, None, ENGINE, ENGINE, None]) == []


def test_fix_lost_with_the_engine_off_is_a_shed_not_jamming() -> None:
    assert run([None, *[{"ignition": False, "engine_rpm": 0.0}] * 10]) == []


def test_readings_without_gnss_fields_say_nothing() -> None:
    events = [Event(T0 + i * 5 * MIN, make_reading(T0 + i * 5 * MIN, **ENGINE)) for i in range(10)]
    assert run_detector(JammingDetector(), events, make_pledge())[1] == []
