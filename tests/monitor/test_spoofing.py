from __future__ import annotations

import random
from dataclasses import replace

from monitor.detectors.spoofing import SpoofingDetector
from monitor.model import Finding
from tests.monitor.factories import (
    ANCHOR,
    MIN,
    T0,
    Event,
    fix,
    make_pledge,
    moved,
    noisy,
    run_detector,
)

WORKING = {"ignition": True, "engine_rpm": 1400.0, "vibration_mm_s": 3.0}


def run(positions: list[tuple[float, float]], seqs: list[int] | None = None,
        **fields: object) -> list[Finding]:
    events = [Event(T0 + i * 5 * MIN,
                    fix(T0 + i * 5 * MIN, p, seq=None if seqs is None else seqs[i], **fields))
              for i, p in enumerate(positions)]
    return run_detector(SpoofingDetector(), events, make_pledge())[1]


def test_a_teleport_that_stays_raises_and_clears_when_back() -> None:
    far = moved(ANCHOR, 400_000, 0)
    found = run([ANCHOR] * 3 + [far] * 4 + [ANCHOR] * 4)
    assert [(f.active, f.at_ms, f.details.get("cause")) for f in found] == [
        (True, T0 + 20 * MIN, "teleport"), (False, T0 + 45 * MIN, None)]


def test_one_wild_fix_is_noise() -> None:
    assert run([ANCHOR] * 3 + [moved(ANCHOR, 400_000, 0)] + [ANCHOR] * 3) == []


def test_a_drive_at_road_speed_is_plausible() -> None:
    assert run([moved(ANCHOR, 8000 * i, 0) for i in range(20)]) == []  # 96 km/h


def test_a_frozen_position_while_working_raises() -> None:
    found = run([ANCHOR] * 8, **WORKING)
    assert [(f.active, f.details["cause"]) for f in found] == [(True, "frozen")]


def test_gps_noise_while_working_is_not_frozen() -> None:
    rng = random.Random(1)
    assert run([noisy(rng, 8) for _ in range(30)], **WORKING) == []


def test_replayed_sequence_numbers_with_fresh_time_raise() -> None:
    seqs = [100, 101, 102, 103, 40, 41, 42, 43, 104, 105, 106]
    rng = random.Random(2)
    found = run([noisy(rng, 8) for _ in seqs], seqs=seqs)
    assert [(f.active, f.details.get("cause")) for f in found] == [(True, "replay"),
                                                                   (False, None)]


def test_a_reboot_restarting_the_sequence_is_not_a_replay() -> None:
    seqs = [500, 501, 502, 1, 2, 3, 4, 5, 6]
    rng = random.Random(3)
    assert run([noisy(rng, 8) for _ in seqs], seqs=seqs) == []


PARKED = {"ignition": False, "engine_rpm": 0.0}


def _ghost_run(pledge_kind: str = "truck", **pledge_fields: object) -> list[Finding]:
    """Parked with the engine off; then the fixes drive off at 60 km/h from where it stands
    (yesterday's drive replayed to it) for 6 readings; then they rest 30 km away."""
    rng = random.Random(4)
    drive = [moved(ANCHOR, 5000 * i, 0) for i in range(1, 7)]
    positions = [noisy(rng, 8) for _ in range(4)] + drive + [
        noisy(rng, 8, north_m=30_000) for _ in range(4)]
    events = [Event(T0 + i * 5 * MIN, fix(T0 + i * 5 * MIN, p, **PARKED))
              for i, p in enumerate(positions)]
    pledge = replace(make_pledge(**pledge_fields), asset_kind=pledge_kind)
    return run_detector(SpoofingDetector(), events, pledge)[1]


def test_a_truck_moving_at_road_speed_with_its_engine_off_is_a_ghost_track() -> None:
    # No jump and fresh sequence numbers: only the engine tells the fixes are not its own.
    found = _ghost_run()
    assert [(f.active, f.at_ms, f.details.get("cause")) for f in found] == [
        (True, T0 + 30 * MIN, "ghost"), (False, T0 + 60 * MIN, None)]


def test_a_carried_machine_moves_with_its_engine_off() -> None:
    assert _ghost_run("construction") == []  # on a low-loader: geofence exit's business


def test_an_approved_move_with_the_engine_off_is_no_ghost() -> None:
    window = ((T0, T0 + 2 * 3600 * 1000),)
    assert _ghost_run(approved_moves=window) == []


def test_one_multipath_jump_while_parked_is_no_ghost() -> None:
    rng = random.Random(5)
    positions = [noisy(rng, 8) for _ in range(5)] + [moved(ANCHOR, 3000, 0)] + [
        noisy(rng, 8) for _ in range(5)]
    assert run(positions, **PARKED) == []


def test_driving_with_the_engine_on_is_no_ghost() -> None:
    assert run([moved(ANCHOR, 5000 * i, 0) for i in range(12)], ignition=True,
               engine_rpm=1500.0) == []
