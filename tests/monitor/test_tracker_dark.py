from __future__ import annotations

from collections.abc import Iterable

from monitor.detectors.tracker_dark import TrackerDarkDetector, TrackerDarkState
from monitor.model import Finding, Pledge
from tests.monitor.factories import HOUR, MIN, T0, Event, make_pledge, make_reading, run_detector

PLEDGE = make_pledge(cadence_s=300, dark_after_cadences=3, dark_min_s=0)  # dark after 15 min
LIMIT = 15 * MIN


def reading(ts: int) -> Event:
    return Event(ts, make_reading(ts, battery_v=12.5))


def ticks(start: int, end: int, step: int = MIN) -> list[Event]:
    return [Event(ts) for ts in range(start, end, step)]


def run(events: Iterable[Event], pledge: Pledge = PLEDGE,
        state: TrackerDarkState | None = None) -> tuple[TrackerDarkState, list[Finding]]:
    final, found = run_detector(TrackerDarkDetector(), list(events), pledge, state)
    assert isinstance(final, TrackerDarkState)
    return final, found


def test_an_asset_that_never_reported_is_never_dark() -> None:
    assert run(ticks(T0, T0 + 48 * HOUR, 5 * MIN))[1] == []


def test_a_tracker_on_cadence_for_a_day_is_never_dark() -> None:
    events = []
    for ts in range(T0, T0 + 24 * HOUR, 5 * MIN):
        events += [reading(ts)] + ticks(ts, ts + 5 * MIN)
    assert run(events)[1] == []


def test_silence_past_the_limit_raises_on_tick_and_not_before() -> None:
    _, found = run([reading(T0)] + ticks(T0, T0 + LIMIT + MIN + 1, 30_000))
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + LIMIT + 30_000)]
    assert found[0].details == {"last_seen_ms": T0, "silent_s": 930.0, "limit_s": 900.0}


def test_the_limit_follows_the_pledge_cadence() -> None:
    ship = make_pledge(cadence_s=3600, dark_after_cadences=2)
    _, found = run([reading(T0)] + ticks(T0, T0 + 2 * HOUR + 1, 5 * MIN), ship)
    assert found == []
    _, found = run([reading(T0)] + ticks(T0, T0 + 2 * HOUR + 6 * MIN, 5 * MIN), ship)
    assert [f.at_ms for f in found] == [T0 + 2 * HOUR + 5 * MIN]


def test_a_fresh_reading_clears_it() -> None:
    _, found = run([reading(T0)] + ticks(T0, T0 + HOUR, 5 * MIN) + [reading(T0 + HOUR)])
    assert [f.active for f in found][-1] is False
    assert found[-1].at_ms == T0 + HOUR and found[-1].details == {"last_seen_ms": T0 + HOUR}


def test_a_late_batch_of_only_old_readings_does_not_clear_it() -> None:
    state, found = run([reading(T0)] + ticks(T0, T0 + 2 * HOUR, 5 * MIN))
    old_batch = [reading(ts) for ts in range(T0 + 5 * MIN, T0 + HOUR, 5 * MIN)]
    state, more = run(old_batch, state=state)
    assert [f.active for f in found] == [True] * len(found) and more == []
    assert state.alarm and state.last_ts_ms == T0 + HOUR - 5 * MIN


def test_a_late_batch_reaching_the_present_clears_it() -> None:
    state, _ = run([reading(T0)] + ticks(T0, T0 + 2 * HOUR, 5 * MIN))
    now = T0 + 2 * HOUR - 5 * MIN  # the last tick's watermark
    batch = [reading(ts) for ts in range(T0 + 5 * MIN, now - 2 * MIN, 5 * MIN)]
    _, found = run(batch, state=state)
    assert [f.active for f in found] == [False]
    assert now - found[0].at_ms <= LIMIT


def test_a_long_silence_is_retold_once_per_limit_period() -> None:
    _, found = run([reading(T0)] + ticks(T0, T0 + HOUR + 1, MIN))
    assert [(f.at_ms - T0) // MIN for f in found] == [16, 31, 46]
    assert [f.details["silent_s"] for f in found] == [960.0, 1860.0, 2760.0]


def test_dark_is_judged_on_the_watermark_not_on_tick_count() -> None:
    # Many ticks at the same watermark (a quiet fleet) are not the passing of time.
    _, found = run([reading(T0)] + [Event(T0 + 5 * MIN)] * 1000)
    assert found == []


def test_a_watermark_going_backwards_is_ignored() -> None:
    state, found = run([reading(T0), Event(T0 + HOUR), Event(T0 + 10 * MIN)])
    assert [f.active for f in found] == [True] and state.now_ms == T0 + HOUR


def test_a_fast_cadence_is_not_dark_before_the_floor() -> None:
    truck = make_pledge(cadence_s=120, dark_after_cadences=3)  # 6 min, but the floor is 30 min
    det = TrackerDarkDetector()
    state, _ = det.on_reading(det.initial_state(), make_reading(T0), truck)
    state, found = det.on_tick(state, truck, T0 + 29 * 60_000)
    assert found == ()
    state, found = det.on_tick(state, truck, T0 + 31 * 60_000)
    assert [f.active for f in found] == [True]
