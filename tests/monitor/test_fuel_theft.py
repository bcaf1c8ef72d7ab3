from __future__ import annotations

from monitor.detectors.fuel_theft import FuelTheftDetector
from monitor.model import Finding
from tests.monitor.factories import MIN, T0, Event, make_pledge, make_reading, run_detector


def run(levels: list[float], running: bool = False) -> list[Finding]:
    events = [Event(T0 + i * 10 * MIN, make_reading(T0 + i * 10 * MIN, fuel_pct=level,
                                                     ignition=running, speed_kmh=0.0))
              for i, level in enumerate(levels)]
    return run_detector(FuelTheftDetector(), events, make_pledge())[1]


def test_a_sudden_drop_while_idle_raises_then_clears_after_two_quiet_hours() -> None:
    found = run([70.0, 70.5, 69.8, 50.0] + [50.0] * 13)
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + 30 * MIN),
                                                    (False, T0 + 150 * MIN)]
    assert found[0].details == {"drop_pct": 20.5, "from_pct": 70.5, "to_pct": 50.0}


def test_a_slow_siphon_over_several_readings_is_caught() -> None:
    found = run([70.0, 67.0, 64.0, 61.0])
    assert [f.active for f in found] == [True]


def test_burning_fuel_while_running_is_not_theft() -> None:
    assert run([70.0 - 3 * i for i in range(20)], running=True) == []


def test_slosh_and_refuelling_stay_quiet() -> None:
    assert run([50.0, 51.5, 49.0, 50.5, 90.0, 89.0, 90.5]) == []
