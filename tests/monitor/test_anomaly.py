"""The load-explained drift scorer: its fast update against the plain formula."""

from __future__ import annotations

import random

import pytest

from monitor.anomaly import LoadScorer


def plain_score_learn(s: LoadScorer, state: list[float], x: float, y: float, at: int) -> float:
    """The update written plainly, with min/max and slices: what score_learn must compute."""
    mx, my, vx, cxy, spread, n, cusum = state[at:at + 7]
    if n == 0:
        state[at:at + 6] = [x, y, 0.0, 0.0, 0.0, 1.0]
        return 0.0
    beta = cxy / vx if vx > 1e-9 else 0.0
    resid = y - (my + beta * (x - mx))
    scale = max(spread * 1.25, s.floor, s.relative_floor * abs(my))
    z = resid / scale
    if n >= s.warm:
        cusum = min(max(0.0, cusum + z - s.k), 1.5 * s.h)
    rate = max(s.alpha * (s.slow_factor if z > 2.0 else 1.0), 1.0 / (n + 1))
    dx, dy = x - mx, y - my
    keep = 1 - rate
    state[at:at + 7] = [mx + rate * dx, my + rate * dy, keep * (vx + rate * dx * dx),
                        keep * (cxy + rate * dx * dy),
                        spread + rate * (min(abs(resid), 3 * scale) - spread), n + 1, cusum]
    return cusum / (cusum + s.h)


@pytest.mark.parametrize("scorer", [LoadScorer(floor=2.0),
                                    LoadScorer(floor=0.3, relative_floor=0.08),
                                    LoadScorer(warm=3, h=2.0)])
def test_score_learn_matches_the_plain_formula_exactly(scorer: LoadScorer) -> None:
    rng = random.Random(3)
    fast, plain = [0.0] * 14, [0.0] * 14
    peaks = 0
    for i in range(5_000):
        load = rng.choice([0.0, 40.0, rng.uniform(0, 120)])
        value = 30.0 + 0.2 * load + rng.gauss(0, 1.0) + (25.0 if 2_000 < i < 2_400 else 0.0)
        at = rng.choice([0, 7])
        got = scorer.score_learn(fast, load, value, at)
        assert got == plain_score_learn(scorer, plain, load, value, at)
        assert fast == plain
        peaks += got > 0.5  # the fault drives the CUSUM past h: the capped branch is exercised
    assert peaks
