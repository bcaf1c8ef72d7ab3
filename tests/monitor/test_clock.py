"""The monitor's device-time clock: a silence counts once readings in flight had time to land."""

from __future__ import annotations

import pytest

from monitor.clock import FleetClock
from monitor.detectors.tracker_dark import TrackerDarkDetector
from tests.monitor.factories import MIN, T0, make_pledge, make_reading


def feed(clock: FleetClock, start_ms: int, rate: float, wall_s: float, step_s: float = 0.1,
         wall0: float = 0.0) -> float:
    """Advance the watermark at ``rate`` device seconds per wall second; returns the wall end."""
    steps = round(wall_s / step_s)
    for i in range(steps + 1):
        wall = wall0 + i * step_s
        clock.advance(start_ms + int((wall - wall0) * rate * 1000), wall_s=wall)
    return wall0 + steps * step_s


def test_live_clock_waits_only_the_grace() -> None:
    clock = FleetClock(grace_s=3.0)
    feed(clock, T0, rate=1.0, wall_s=20.0)
    assert clock.rate() == pytest.approx(1.0)
    assert clock.lag_ms() == 3_000
    assert clock.now_ms() == clock.high_ms - 3_000


def test_accelerated_clock_scales_the_grace_with_the_rate() -> None:
    clock = FleetClock(grace_s=2.0)
    feed(clock, T0, rate=3600.0, wall_s=10.0)
    assert clock.rate() == pytest.approx(3600.0, rel=0.01)
    assert clock.lag_ms() == pytest.approx(2 * 3600 * 1000, rel=0.01)


def test_rate_follows_the_recent_window_not_the_whole_history() -> None:
    clock = FleetClock(grace_s=1.0, window_s=5.0)
    end = feed(clock, T0, rate=3600.0, wall_s=20.0)
    feed(clock, clock.high_ms, rate=1.0, wall_s=20.0, wall0=end + 0.1)
    assert clock.rate() == pytest.approx(1.0, rel=0.05)


def test_allowance_is_capped() -> None:
    clock = FleetClock(grace_s=10.0, max_lag_ms=30 * MIN)
    feed(clock, T0, rate=100_000.0, wall_s=2.0)
    assert clock.lag_ms() == 30 * MIN


def test_rate_never_reads_below_wall_speed_and_old_readings_do_not_move_it() -> None:
    clock = FleetClock(grace_s=1.0)
    clock.advance(T0, wall_s=0.0)
    clock.advance(T0 + 100, wall_s=10.0)  # a quiet fleet: 0.1 s of device time in 10 s
    clock.advance(T0 - 5 * MIN, wall_s=11.0)  # a late store-and-forward reading
    assert clock.high_ms == T0 + 100
    assert clock.rate() == 1.0


def test_empty_clock_and_restore() -> None:
    clock = FleetClock(grace_s=3.0)
    assert clock.now_ms() == 0
    clock.restore(T0)
    assert clock.high_ms == T0 and clock.now_ms() == T0 - 3_000
    clock.restore(T0 - MIN)
    assert clock.high_ms == T0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        FleetClock(grace_s=-1)
    with pytest.raises(ValueError):
        FleetClock(window_s=0)


def test_a_stalled_connection_at_3600x_does_not_read_as_dark() -> None:
    """Half the fleet arrives 0.75 s late at 3600x: 45 min of device time, over the 30 min floor."""
    det, pledge = TrackerDarkDetector(), make_pledge(cadence_s=120)
    clock = FleetClock(grace_s=3.0)
    end = feed(clock, T0, rate=3600.0, wall_s=5.0)
    slow_last = clock.high_ms - 45 * MIN  # the stalled link's asset last reported then
    state, _ = det.on_reading(det.initial_state(), make_reading(slow_last), pledge)
    state, found = det.on_tick(state, pledge, clock.now_ms())
    assert not found
    # A real dark asset is still caught: once the silence outgrows limit and grace.
    feed(clock, clock.high_ms, rate=3600.0, wall_s=5.0, wall0=end + 0.1)
    state, found = det.on_tick(state, pledge, clock.now_ms())
    assert [f.active for f in found] == [True]
    assert found[0].details["silent_s"] > 30 * 60
