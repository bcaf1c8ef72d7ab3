from __future__ import annotations

from typing import Any

import pytest

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
    moved,
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


OFF = {"ignition": False, "engine_rpm": 0.0}


def _blind_spell(spell: list[dict[str, Any]], back_north_m: float) -> list[Finding]:
    """Fixes at the anchor, a blind spell (5 min apart), then fixes ``back_north_m`` away."""
    steps = [*([None] * 3), *spell, None, None]
    back = moved(ANCHOR, back_north_m, 0.0)
    events = []
    for i, s in enumerate(steps):
        ts = T0 + i * 5 * MIN
        after = i > 3 + len(spell) - 1
        reading = (make_reading(ts, gnss_fix=0, **s) if s is not None
                   else fix(ts, back if after else ANCHOR, **ENGINE))
        events.append(Event(ts, reading))
    return run_detector(JammingDetector(), events, make_pledge())[1]


def test_jammed_driven_off_and_parked_is_raised_when_the_fix_comes_back() -> None:
    # Too few working readings for the run rule (the thief parked, jammer on), but the fix
    # comes back 2 km from where it was lost: it moved where no one could follow.
    found = _blind_spell([ENGINE, *[OFF] * 6], back_north_m=2000)
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + 50 * MIN),
                                                    (False, T0 + 55 * MIN)]
    assert found[0].details["moved_m"] == pytest.approx(2000, abs=5)
    assert found[0].details["lost_s"] == 35 * 60


@pytest.mark.parametrize(("spell", "back_north_m"), [
    ([ENGINE, *[OFF] * 6], 50),  # parked in a shed: back where it went in
    ([ENGINE, ENGINE], 5000),  # a tunnel: 10 minutes blind, 5 km on
    ([*[OFF] * 8], 2000),  # moved with the engine off and no fix: towing is the geofence's
])
def test_a_blind_spell_without_a_move_at_work_stays_quiet(spell: list[dict[str, Any]],
                                                         back_north_m: float) -> None:
    assert _blind_spell(spell, back_north_m) == []
