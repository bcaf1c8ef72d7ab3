from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import replace

import pytest

from ingest.wire import Reading
from monitor.detectors.fences import DEEP, build_fence
from monitor.detectors.geofence_exit import GeofenceExitDetector
from monitor.model import Finding, Pledge, Site
from tests.monitor.factories import (
    ANCHOR,
    HOUR,
    MIN,
    T0,
    Event,
    fix,
    make_pledge,
    moved,
    noisy,
    run_detector,
    square_site,
)

CADENCE = 5 * MIN
DWELL = 10 * MIN  # make_pledge's geofence_dwell_s


def findings(readings: Iterable[Reading], pledge: Pledge | None = None,
             detector: GeofenceExitDetector | None = None) -> list[Finding]:
    events = [Event(r.ts_ms, r) for r in readings]
    _, found = run_detector(detector or GeofenceExitDetector(), events, pledge or make_pledge())
    return found


def day(start: int = T0, hours: int = 24, step: int = CADENCE) -> range:
    return range(start, start + hours * HOUR, step)


def test_gps_noise_of_30m_for_a_day_raises_nothing() -> None:
    rng = random.Random(1)
    assert findings(fix(ts, noisy(rng, 30)) for ts in day()) == []


def test_noise_near_the_boundary_for_a_day_raises_nothing() -> None:
    rng = random.Random(2)  # parked 170 m out on a 200 m circle, 30 m noise
    assert findings(fix(ts, noisy(rng, 30, north_m=170)) for ts in day()) == []


def test_fixes_jittering_across_the_margin_do_not_flap() -> None:
    # 260 m is beyond radius + margin (250 m); 240 m is not, so every other fix breaks the
    # strict run. Judged together, fixes all 40-60 m out are an exit: raised once, no flapping.
    readings = [fix(ts, moved(ANCHOR, 260 if i % 2 else 240, 0)) for i, ts in enumerate(day())]
    assert [f.active for f in findings(readings)] == [True]


@pytest.mark.parametrize("cadence", [1 * MIN, 5 * MIN, 30 * MIN])
def test_tow_of_5km_is_raised_within_dwell_plus_two_readings(cadence: int) -> None:
    rng = random.Random(3)
    towed_at = T0 + 2 * HOUR
    readings = [fix(ts, noisy(rng, 10, north_m=5000 if ts >= towed_at else 0))
                for ts in day(hours=4, step=cadence)]
    found = findings(readings, make_pledge(cadence_s=cadence / 1000))
    assert [f.active for f in found] == [True]
    assert towed_at + DWELL <= found[0].at_ms <= towed_at + DWELL + 2 * cadence
    assert found[0].details["distance_m"] == pytest.approx(5000, abs=60)
    assert found[0].details["outside_since_ms"] == towed_at
    assert found[0].details["rule"] == "fixes"  # every fix clear of the margin


def test_a_fix_seconds_short_of_the_dwell_does_not_wait_a_reading_more() -> None:
    # Seed 1502's carried excavator: fixes 5 min +- 3 s apart, the third outside 9 min 58 s
    # after the first. Raised there (the evaluate deadline is the dwell plus two readings),
    # not five minutes later.
    out_at = T0 + HOUR + 3_000
    times = [T0 + i * CADENCE for i in range(12)] + [out_at, out_at + CADENCE - 3_000,
                                                     out_at + DWELL - 2_000]
    readings = [fix(ts, moved(ANCHOR, 5000 if ts >= out_at else 0, 0)) for ts in times]
    found = findings(readings)
    assert [(f.active, f.at_ms) for f in found] == [(True, out_at + DWELL - 2_000)]
    # Not a whole reading short: two fixes 7.5 min apart are not a 10-minute dwell.
    early = findings([*readings[:12], readings[12], fix(out_at + 7 * MIN + 30_000,
                                                        moved(ANCHOR, 5000, 0))])
    assert early == []


def test_a_single_multipath_jump_of_800m_raises_nothing() -> None:
    rng = random.Random(4)
    jumps = {T0 + h * HOUR for h in range(1, 24, 3)}
    readings = [fix(ts, noisy(rng, 10, north_m=800 if ts in jumps else 0)) for ts in day()]
    assert findings(readings) == []


@pytest.mark.parametrize("poor", [{"gnss_fix": 1}, {"gnss_fix": 0}, {"hdop": 8.0}])
def test_poor_fixes_far_away_are_ignored(poor: dict[str, float]) -> None:
    readings = [fix(ts, moved(ANCHOR, 5000, 0), **poor) for ts in day(hours=3)]
    assert findings(readings) == []


def test_returning_home_clears_after_half_the_dwell_of_inside_fixes() -> None:
    out = [fix(ts, moved(ANCHOR, 5000, 0)) for ts in day(hours=1)]
    back_at = T0 + HOUR
    home = [fix(ts, moved(ANCHOR, 20, 0)) for ts in day(start=back_at, hours=1)]
    found = findings(out + home)
    assert [f.active for f in found] == [True, False]
    assert found[1].at_ms == back_at + DWELL // 2
    assert found[1].reason == "back inside pledged site"


def test_one_fix_inside_during_a_tow_does_not_clear() -> None:
    readings = [fix(ts, moved(ANCHOR, 0 if ts == T0 + HOUR else 5000, 0))
                for ts in day(hours=2)]
    assert [f.active for f in findings(readings)] == [True]


def test_jitter_on_the_boundary_after_return_raises_nothing_new() -> None:
    out = [fix(ts, moved(ANCHOR, 5000, 0)) for ts in day(hours=1)]
    home = [fix(ts, moved(ANCHOR, 30, 0)) for ts in day(start=T0 + HOUR, step=CADENCE, hours=1)]
    jitter = [fix(ts, moved(ANCHOR, (170, 215, 195)[i % 3], 0))
              for i, ts in enumerate(day(start=T0 + 2 * HOUR, hours=12))]
    assert [f.active for f in findings(out + home + jitter)] == [True, False]


def test_coming_back_only_to_the_margin_band_does_not_clear() -> None:
    # Hysteresis: raised beyond fence + margin, cleared only within the fence itself.
    out = [fix(ts, moved(ANCHOR, 5000, 0)) for ts in day(hours=1)]
    band = [fix(ts, moved(ANCHOR, 230, 0)) for ts in day(start=T0 + HOUR, hours=6)]
    assert [f.active for f in findings(out + band)] == [True]


def test_moving_further_away_retells_the_distance_parked_outside_does_not() -> None:
    rng = random.Random(5)
    driving = [fix(T0 + i * CADENCE, moved(ANCHOR, 5000 + 1000 * i, 0)) for i in range(6)]
    parked = [fix(ts, noisy(rng, 20, north_m=10_000)) for ts in day(start=T0 + HOUR, hours=2)]
    found = findings(driving + parked)
    distances = [round(f.details["distance_m"] / 1000) for f in found]
    assert all(f.active for f in found)
    assert distances == [7, 8, 9, 10]


def test_polygon_far_corner_is_inside_and_a_tow_is_raised() -> None:
    # A 1 km square yard whose anchor sits 100 m from its west edge.
    pledge = make_pledge(site=square_site(half_side_m=500, east_m=400))
    rng = random.Random(6)
    corner = [fix(ts, noisy(rng, 15, north_m=400, east_m=850)) for ts in day()]
    assert findings(corner, pledge) == []
    towed = [fix(ts, moved(ANCHOR, 0, 5000)) for ts in day(start=T0, hours=1)]
    found = findings(towed, pledge)
    assert [f.active for f in found] == [True] and found[0].at_ms == T0 + DWELL


def test_polygon_edge_jitter_raises_nothing() -> None:
    pledge = make_pledge(site=square_site(half_side_m=500, east_m=400))
    rng = random.Random(7)  # parked on the east edge (900 m east), 25 m noise
    assert findings((fix(ts, noisy(rng, 25, east_m=900)) for ts in day()), pledge) == []


def test_site_without_radius_or_polygon_uses_the_default_radius() -> None:
    pledge = make_pledge(site=Site(*ANCHOR))
    assert findings((fix(ts, moved(ANCHOR, 400, 0)) for ts in day(hours=2)), pledge) == []
    assert findings((fix(ts, moved(ANCHOR, 900, 0)) for ts in day(hours=2)), pledge) != []


def test_a_moved_pledge_site_takes_effect() -> None:
    detector, new_home = GeofenceExitDetector(), moved(ANCHOR, 5000, 0)
    old = make_pledge()
    new = make_pledge(site=Site(*new_home, radius_m=200))
    state, found = run_detector(detector, [Event(T0, fix(T0, new_home))], old)
    rest = [Event(ts, fix(ts, new_home)) for ts in day(start=T0 + CADENCE, hours=2)]
    _, found = run_detector(detector, rest, new, state)
    assert found == []


def test_poor_accuracy_widens_the_margin() -> None:
    lenient = GeofenceExitDetector(max_hdop=20.0)
    at_280m = [moved(ANCHOR, 280, 0)] * 30
    vague = [fix(T0 + i * CADENCE, p, hdop=10.0) for i, p in enumerate(at_280m)]
    sharp = [fix(T0 + i * CADENCE, p, hdop=1.0) for i, p in enumerate(at_280m)]
    assert findings(vague, detector=lenient) == []  # 80 m out, accuracy 100 m
    assert [f.active for f in findings(sharp, detector=lenient)] == [True]


def test_a_fence_is_built_once_per_site_even_across_pledge_reloads() -> None:
    # (Asked of the detector, not counted by patching build_fence: compiled, it binds its calls.)
    detector, yard = GeofenceExitDetector(), square_site()
    state, fences = detector.initial_state(), []
    for i in range(5):  # each reload brings an equal but new Site object
        reloaded = make_pledge(site=Site(yard.lat, yard.lon, polygon=yard.polygon))
        state, _ = detector.on_reading(state, fix(T0 + i * MIN, ANCHOR), reloaded)
        assert reloaded.site is not None
        fences.append(detector._fence(reloaded.asset_id, reloaded.site))
    assert all(fence is fences[0] for fence in fences)
    moved = make_pledge()  # a different site: a new fence
    assert moved.site is not None and moved.site != yard
    detector.on_reading(state, fix(T0 + HOUR, ANCHOR), moved)
    assert detector._fence(moved.asset_id, moved.site) is not fences[0]


def test_an_approved_move_raises_nothing_but_staying_away_after_it_does() -> None:
    pledge = make_pledge(approved_moves=((T0, T0 + 2 * HOUR),))
    away = moved(ANCHOR, 5000, 0)
    events = [Event(ts, fix(ts, away)) for ts in range(T0, T0 + 3 * HOUR, 5 * MIN)]
    found = run_detector(GeofenceExitDetector(), events, pledge)[1]
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + 2 * HOUR + 10 * MIN)]


def _drift(rng: random.Random, rate_m_h: float, sigma_m: float, hours: int = 6) -> list[Reading]:
    """From 150 m north on a 200 m circle, drifting north; the truth crosses the fence at 50 m."""
    return [fix(ts, noisy(rng, sigma_m, north_m=150 + rate_m_h * (ts - T0) / HOUR))
            for ts in day(hours=hours)]


@pytest.mark.parametrize("seed", range(6))
def test_a_slow_drift_is_judged_by_the_evidence_of_its_fixes(seed: int) -> None:
    # 60 m/h: the truth leaves at 50 min; requiring two fixes in a row beyond the 50 m margin
    # raised it at 105-120 min on these seeds. Summing the fixes' excess in units of their
    # scatter raises it by 100 min.
    found = findings(_drift(random.Random(seed), 60, 10))
    assert [f.active for f in found][:1] == [True]
    assert found[0].at_ms - T0 <= 100 * MIN
    assert found[0].details["rule"] == "evidence"


@pytest.mark.parametrize(("north_m", "sigma_m"), [(200, 10), (190, 15), (170, 30)])
def test_parked_on_the_fence_line_for_twenty_days_raises_nothing(north_m: int,
                                                                 sigma_m: float) -> None:
    # Claimed accuracy 10 m (hdop 1); the 30 m case is only safe because the scatter is learnt.
    rng = random.Random(north_m)
    parked = (fix(ts, noisy(rng, sigma_m, north_m=north_m)) for ts in day(hours=20 * 24))
    assert findings(parked) == []


def _drift_from_inside(seed: int, **fields: float) -> list[Reading]:
    """40 m/h from 80 m north of the anchor: the truth crosses the 200 m fence at 3 h."""
    rng = random.Random(seed)
    return [fix(ts, noisy(rng, 10, north_m=80 + 40 * (ts - T0) / HOUR), **fields)
            for ts in day(hours=6)]


def test_a_drift_from_inside_is_raised_within_dwell_plus_two_readings() -> None:
    # A fix 20 min after the crossing is 0-13 m out with 10 m of noise; the line through
    # hours of fixes is not. Noise decides the last reading or two, so this is a rate over
    # 24 seeds (the whole 24 on the three-hour line, 23 on the six-hour one), never early,
    # never more than two readings over.
    delays = []
    for seed in range(24):
        found = findings(_drift_from_inside(seed))
        assert [f.active for f in found][:1] == [True]
        assert found[0].details["outside_since_ms"] == found[0].at_ms - DWELL
        assert found[0].details["rule"] == "track"
        delays.append(found[0].at_ms - T0 - 3 * HOUR)
    assert all(0 < d <= DWELL + 4 * CADENCE for d in delays), delays
    assert sum(d <= DWELL + 2 * CADENCE for d in delays) >= 22, delays


def test_a_fix_wandering_on_the_fence_line_for_twenty_days_raises_nothing() -> None:
    # Slow multipath while parked: the fix swings 20 m each way over hours (its line moves
    # at up to 25 m/h, out to the fence and back), never a drift's 90 m one way.
    rng = random.Random(0)
    readings = []
    for ts in day(hours=20 * 24):
        h = (ts - T0) / HOUR
        north = 180 + 20 * math.sin(2 * math.pi * h / 5.3)
        readings.append(fix(ts, noisy(rng, 10, north_m=north,
                                      east_m=20 * math.sin(2 * math.pi * h / 3.7 + 1.0))))
    assert findings(readings) == []


@pytest.mark.parametrize("seed", range(4))
def test_a_machine_driven_to_a_spot_by_the_fence_is_not_a_drift(seed: int) -> None:
    # Driven 110 m outward and parked 10 m beyond the fence (inside the plain rules' margins):
    # the move starts a new level of the track (and the last hour stands still), so the
    # track does not read it as a drift. A line through both spots would.
    rng = random.Random(seed)
    readings, ts = [], T0
    for north, hours in ((100, 4), (210, 16)):
        for _ in range(hours * 12):
            readings.append(fix(ts, noisy(rng, 10, north_m=north)))
            ts += CADENCE
    assert findings(readings) == []
    naive = GeofenceExitDetector(track_jump=1e9, track_keep_on=-1e9)
    assert [f.active for f in findings(readings, detector=naive)][:1] == [True]


def _staircase(seed: int, course: str, on_the_way: bool = False) -> list[Reading]:
    """Driven 35 m outward every hour, from 105 m to 10 m beyond the 200 m fence, then
    parked there: each move too small to see fix to fix through 10 m of noise, but the
    spots together make a 35 m/h line out of the fence (the plain rules' margins hold)."""
    rng = random.Random(seed)
    readings, ts, heading = [], T0, 90.0
    for north, hours in ((105, 1), (140, 1), (175, 1), (210, 6)):
        if on_the_way and north != 105:  # a fix caught between the spots, under way
            readings.append(fix(ts, noisy(rng, 10, north_m=north - 17), speed_kmh=3.0,
                                heading_deg=0.0))
            ts += CADENCE
        heading = (heading + 100.0) % 360.0  # parked at another angle
        for _ in range(hours * 12):
            said = {"held": heading, "none": None, "random": rng.uniform(0, 360)}[course]
            readings.append(fix(ts, noisy(rng, 10, north_m=north), speed_kmh=0.0,
                                heading_deg=said))
            ts += CADENCE
    return readings


@pytest.mark.parametrize("seed", range(4))
def test_spots_reached_by_driving_are_not_a_drift(seed: int) -> None:
    # The tracker tells a drive from a drift: its course, held while parked, changes when
    # the machine is driven, and a fix caught under way reports a speed. Each says the
    # points after it are a new spot (a new level of the track, no velocity).
    assert findings(_staircase(seed, "held")) == []
    assert findings(_staircase(seed, "none", on_the_way=True)) == []
    # Without either (no course, no fix under way), or with a course that changes on every
    # fix (a receiver's raw course at a standstill: not believed), the spots are a line.
    for blind in (_staircase(seed, "none"), _staircase(seed, "random")):
        assert [f.details.get("rule") for f in findings(blind)][:1] == ["track"]


@pytest.mark.parametrize("course", ["held", "random"])
def test_a_drift_reports_no_drive_and_is_still_raised(course: str) -> None:
    # A drift creeps at metres an hour: its speed is 0 and a held course never changes.
    rng = random.Random(7)
    readings = [replace(r, speed_kmh=0.0, heading_deg=45.0 if course == "held" else
                        rng.uniform(0, 360)) for r in _drift_from_inside(2)]
    found = findings(readings)
    assert [(f.active, f.details["rule"]) for f in found][:1] == [(True, "track")]
    assert 3 * HOUR < found[0].at_ms - T0 <= 3 * HOUR + DWELL + 4 * CADENCE
    if course == "held":  # as if it said nothing of either
        assert found[0] == findings(_drift_from_inside(2))[0]


def test_vague_fixes_do_not_add_evidence() -> None:
    # 40 m out for a day, every fix claiming 60 m accuracy (hdop 6): a vague fix's error is
    # a bias, not noise that averages out, so only the strict rule (beyond 60 m) may raise it.
    lenient = GeofenceExitDetector(max_hdop=20.0)
    rng = random.Random(9)
    vague = [fix(ts, noisy(rng, 5, north_m=240), hdop=6.0) for ts in day()]
    assert findings(vague, detector=lenient) == []


@pytest.mark.parametrize("site", [make_pledge().site, square_site(400)])
def test_deep_is_never_said_of_a_fix_near_the_fence(site: Site | None) -> None:
    # The cheap test that spares most fixes the track: it may miss a deep fix (a polygon's
    # corners), never call a fix within 150 m of the fence deep.
    assert site is not None
    fence = build_fence(site, default_radius_m=500)
    rng = random.Random(8)
    deep = 0
    for _ in range(2000):
        lat, lon = moved(ANCHOR, rng.uniform(-450, 450), rng.uniform(-450, 450))
        if fence.classify(lat, lon, 50.0, 150.0) == DEEP:
            deep += 1
            assert fence.excess_m(lat, lon, 1000.0) < -150.0
        else:
            assert fence.classify(lat, lon, 50.0) == fence.classify(lat, lon, 50.0, 150.0)
    assert deep > 0 and fence.classify(*ANCHOR, 50.0, 40.0) == DEEP
