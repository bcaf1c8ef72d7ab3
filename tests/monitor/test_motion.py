"""The motion judge shared by the noise filter, spoofing and cloning."""

from __future__ import annotations

import random

import pytest

from monitor.detectors.motion import NEAR_DEG, impossible_jump, max_speed_for


@pytest.mark.parametrize("kind", ["truck", "ship"])
def test_fixes_nearer_than_near_deg_are_never_an_impossible_jump(kind: str) -> None:
    # Callers skip impossible_jump below NEAR_DEG: that shortcut must never change its answer.
    rng, speed = random.Random(5), max_speed_for(kind)
    for _ in range(20_000):
        lat, lon = rng.uniform(-85, 85), rng.uniform(-180, 180)
        share = rng.random()
        total = NEAR_DEG * rng.choice([rng.random(), 0.999999])
        dlat = total * share * rng.choice([-1, 1])
        dlon = total * (1 - share) * rng.choice([-1, 1])
        hdop = rng.choice([None, 0.0, rng.uniform(0, 100)])
        dt = rng.choice([0, 1, 999, rng.randrange(3_600_000)])
        assert not impossible_jump(lat, lon, 0, lat + dlat, lon + dlon, dt,
                                   hdop=hdop, max_speed_kmh=speed)


def test_near_deg_is_close_to_the_smallest_allowance() -> None:
    # Not vacuous: a little past it, a jump within one second is impossible.
    assert impossible_jump(0.0, 0.0, 0, 1.2 * NEAR_DEG, 0.0, 1_000, hdop=0.5,
                           max_speed_kmh=max_speed_for("ship"))
