from __future__ import annotations

from typing import Any

from monitor.detectors.power_cut import PowerCutDetector
from monitor.model import Finding
from tests.monitor.factories import MIN, T0, Event, make_pledge, make_reading, run_detector


def findings(*flags: dict[str, Any], **options: int) -> list[Finding]:
    events = [Event(T0 + i * MIN, make_reading(T0 + i * MIN, **f)) for i, f in enumerate(flags)]
    return run_detector(PowerCutDetector(**options), events, make_pledge())[1]


ON, OFF = {"ext_power": True}, {"ext_power": False}


def test_power_lost_after_it_was_on_raises_at_once() -> None:
    found = findings(ON, ON, OFF)
    assert [(f.active, f.at_ms, f.details["cause"]) for f in found] == [
        (True, T0 + 2 * MIN, "ext_power_cut")]


def test_a_battery_only_tracker_never_raises() -> None:
    assert findings(*[OFF] * 50) == []


def test_a_lasting_cut_is_told_once_and_clears_after_three_on() -> None:
    found = findings(ON, *[OFF] * 10, ON, ON, ON)
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + MIN), (False, T0 + 13 * MIN)]


def test_min_readings_ignores_a_single_glitch() -> None:
    assert findings(ON, OFF, ON, OFF, ON, min_readings=2) == []
    assert [f.active for f in findings(ON, OFF, OFF, min_readings=2)] == [True]


def test_readings_without_the_flag_are_no_evidence() -> None:
    found = findings(ON, OFF, *[{"tamper": False}] * 10)
    assert [f.active for f in found] == [True]
