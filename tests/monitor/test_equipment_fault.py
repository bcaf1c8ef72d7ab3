from __future__ import annotations

import math
import random

from monitor.detectors.equipment_fault import EquipmentFaultDetector
from monitor.model import Finding
from tests.monitor.factories import HOUR, MIN, T0, Event, make_pledge, make_reading, run_detector


def day_temps(hours: float, rng: random.Random, fault_at_h: float | None = None,
              shift_at_h: float | None = None) -> list[Event]:
    """Temperature every 5 min: a daily cycle of +-6 C, noise, optionally a fault or a shift."""
    events = []
    for ts in range(T0, T0 + int(hours * HOUR), 5 * MIN):
        h = (ts - T0) / HOUR
        temp = 25 + 6 * math.sin(2 * math.pi * h / 24) + rng.gauss(0, 0.5)
        if fault_at_h is not None and h >= fault_at_h:
            temp += min(45.0, 15 * (h - fault_at_h))  # overheating ramps up
        if shift_at_h is not None and h >= shift_at_h:
            temp -= 8.0  # moved into a cold store: a level shift, not a fault
        events.append(Event(ts, make_reading(ts, temp_c=round(temp, 1), ignition=True,
                                             power_kw=40.0)))
    return events


def run(events: list[Event]) -> list[Finding]:
    return run_detector(EquipmentFaultDetector(), events, make_pledge())[1]


def test_three_days_of_daily_cycle_raise_nothing() -> None:
    assert run(day_temps(72, random.Random(1))) == []


def test_overheating_is_caught_within_two_hours() -> None:
    found = run(day_temps(48, random.Random(2), fault_at_h=40))
    assert found and found[0].active and found[0].details["series"] == "temp_c"
    assert T0 + 40 * HOUR < found[0].at_ms <= T0 + 42 * HOUR  # about +25 C by then


def shift_temps(days: int, rng: random.Random, ramp: tuple[float, float, float] | None = None,
                heatwave_c: float = 0.0) -> list[Event]:
    """A plant working 06:00-22:00 at a varying load, the weather's daily swing of +-4.5 C;
    ``ramp`` (start h, hours, rise C) heats it up slowly; ``heatwave_c`` warms the air from
    the second day on."""
    events = []
    for ts in range(T0, T0 + days * 24 * HOUR, 5 * MIN):
        h = (ts - T0) / HOUR
        if not 6 <= h % 24 < 22:
            continue
        load = 600 + rng.gauss(0, 40)
        air = 20 + 4.5 * math.cos(2 * math.pi * (h % 24 - 15) / 24)
        air += heatwave_c * min(1.0, max(0.0, h - 24) / 24)
        temp = air + 0.05 * load + rng.gauss(0, 0.3)
        if ramp is not None and h >= ramp[0]:
            temp += ramp[2] * min(1.0, (h - ramp[0]) / ramp[1])
        events.append(Event(ts, make_reading(ts, temp_c=round(temp, 1), ignition=True,
                                             power_kw=round(load, 1))))
    return events


def test_a_slow_overheating_is_caught() -> None:
    # +33 C over 11 hours: a quarter of a degree a reading, which a fit with a few hours'
    # memory follows; the slow fit sees the machine hotter than at the same load before.
    found = run(shift_temps(4, random.Random(5), ramp=(54.0, 11.0, 33.0)))
    assert found and found[0].active and found[0].details["series"] == "temp_c"
    assert T0 + 54 * HOUR < found[0].at_ms <= T0 + 66 * HOUR


def test_weeks_of_shifts_and_a_heatwave_raise_nothing() -> None:
    assert run(shift_temps(14, random.Random(6))) == []
    assert run(shift_temps(6, random.Random(7), heatwave_c=8.0)) == []


def test_a_drop_in_level_is_not_a_fault() -> None:
    assert run(day_temps(72, random.Random(3), shift_at_h=30)) == []


def test_vibration_rising_is_caught() -> None:
    rng = random.Random(4)
    events = [Event(T0 + i * 5 * MIN, make_reading(
        T0 + i * 5 * MIN, ignition=True, engine_rpm=1500.0,
        vibration_mm_s=round(3 + rng.gauss(0, 0.2) + (0 if i < 200 else 0.2 * (i - 200)), 2)))
        for i in range(260)]
    found = run(events)
    assert found and found[0].details["series"] == "vibration_mm_s"


def test_a_checkpoint_from_before_the_slow_fit_keeps_its_fast_baseline() -> None:
    det = EquipmentFaultDetector()
    state = det.initial_state()
    for event in shift_temps(2, random.Random(8)):
        assert event.reading is not None
        state, _ = det.on_reading(state, event.reading, make_pledge())
    saved = state.to_dict()
    fast = saved["base"][:14]
    restored = det.load_state({**saved, "base": fast})  # the layout before: fast fits only
    # Now each series' fast fit, then its slow one (fresh): temperature, then vibration.
    assert restored.base == fast[:7] + [0.0] * 7 + fast[7:] + [0.0] * 7
    assert det.load_state({**saved, "base": [1.0] * 5}).base == [0.0] * 28  # unknown: fresh
