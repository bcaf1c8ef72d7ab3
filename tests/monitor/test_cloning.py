from __future__ import annotations

import random

from monitor.detectors.cloning import CloningDetector
from monitor.model import Finding
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
)


def run(steps: list[tuple[int, int, tuple[float, float]]]) -> list[Finding]:
    events = [Event(ts, fix(ts, p, seq=seq)) for ts, seq, p in steps]
    return run_detector(CloningDetector(), events, make_pledge())[1]


def test_two_streams_under_one_id_raise_and_clear_when_one_stops() -> None:
    rng = random.Random(1)
    far = moved(ANCHOR, 300_000, 0)
    steps = []
    for i in range(12):
        steps.append((T0 + i * 5 * MIN, 1000 + i, noisy(rng, 8)))
        if i < 6:
            steps.append((T0 + i * 5 * MIN + 2 * MIN, 7 + i, far))
    steps += [(T0 + 4 * HOUR + i * MIN, 2000 + i, noisy(rng, 8)) for i in range(3)]
    found = run(steps)
    assert [f.active for f in found] == [True, False]
    assert found[0].at_ms == T0 + 7 * MIN  # the third switch: clone, original, clone


def test_a_clone_at_the_same_place_is_caught_by_its_sequence() -> None:
    rng = random.Random(2)
    steps = [(T0 + i * MIN, (500 + i) if i % 2 == 0 else (10 + i), noisy(rng, 8))
             for i in range(8)]
    assert [f.active for f in run(steps)] == [True]


def test_one_jump_that_stays_is_not_cloning() -> None:
    far = moved(ANCHOR, 300_000, 0)
    steps = [(T0 + i * 5 * MIN, 100 + i, ANCHOR if i < 3 else far) for i in range(20)]
    assert run(steps) == []
