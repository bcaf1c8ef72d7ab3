from __future__ import annotations

import random

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
