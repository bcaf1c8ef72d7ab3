"""The contract every detector in default_detectors() keeps, checked the same way for all."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from monitor.detectors.base import Detector
from monitor.engine import default_detectors
from monitor.model import AlertKind
from tests.monitor.factories import (
    HOUR,
    MIN,
    T0,
    Event,
    fix,
    make_pledge,
    noisy,
    run_detector,
    story,
)

KINDS = [d.kind for d in default_detectors()]
PLEDGE = make_pledge(idle_after_s=3600)
STORY = story()


def fresh(kind: AlertKind) -> Detector[Any]:
    return next(d for d in default_detectors() if d.kind == kind)


def json_round_trip(detector: Detector[Any], state: Any) -> Any:
    return detector.load_state(json.loads(json.dumps(detector.dump_state(state))))


@pytest.fixture(params=KINDS, ids=[k.value for k in KINDS])
def kind(request: pytest.FixtureRequest) -> AlertKind:
    value: AlertKind = request.param
    return value


def test_story_makes_every_detector_raise_and_clear(kind: AlertKind) -> None:
    # Guards the other checks against passing vacuously.
    _, found = run_detector(fresh(kind), STORY, PLEDGE)
    assert {f.kind for f in found} == {kind}
    assert found[0].active and not found[-1].active
    assert [f.at_ms for f in found] == sorted(f.at_ms for f in found)


def test_same_input_gives_same_findings(kind: AlertKind) -> None:
    first = run_detector(fresh(kind), STORY, PLEDGE)
    second = run_detector(fresh(kind), STORY, PLEDGE)
    assert first[1] == second[1]
    assert fresh(kind).dump_state(first[0]) == fresh(kind).dump_state(second[0])


@pytest.mark.parametrize("cut", [1, 17, 40, 75, 101, 140, len(STORY) - 1])
def test_state_round_trip_mid_stream_continues_identically(kind: AlertKind, cut: int) -> None:
    whole_state, whole = run_detector(fresh(kind), STORY, PLEDGE)
    head_state, head = run_detector(fresh(kind), STORY[:cut], PLEDGE)
    restarted = fresh(kind)  # a new process: new detector, state from JSON
    tail_state, tail = run_detector(restarted, STORY[cut:], PLEDGE,
                                    json_round_trip(restarted, head_state))
    assert head + tail == whole
    assert restarted.dump_state(tail_state) == restarted.dump_state(whole_state)


@pytest.mark.parametrize("cut", [30, 60, 90, 120, 150])
def test_late_readings_change_nothing(kind: AlertKind, cut: int) -> None:
    detector = fresh(kind)
    state, _ = run_detector(detector, STORY[:cut], PLEDGE)
    before = detector.dump_state(state)
    late = [e for e in STORY[: cut - 12] if e.reading is not None]
    random.Random(cut).shuffle(late)
    state, found = run_detector(detector, late, PLEDGE, state)
    assert found == []
    assert detector.dump_state(state) == before


def test_shuffled_calm_stream_raises_nothing(kind: AlertKind) -> None:
    rng = random.Random(5)
    calm = [Event(ts, fix(ts, noisy(rng, 15), ignition=True, engine_rpm=1200.0,
                          ext_power=True, tamper=False))
            for ts in range(T0, T0 + 6 * HOUR, 5 * MIN)]
    rng.shuffle(calm)
    _, found = run_detector(fresh(kind), calm, PLEDGE)
    assert found == []


@pytest.mark.parametrize("now_ms", [0, T0, T0 + 1000 * HOUR])
def test_empty_history_ticks_quietly(kind: AlertKind, now_ms: int) -> None:
    detector = fresh(kind)
    state, found = detector.on_tick(detector.initial_state(), PLEDGE, now_ms)
    assert list(found) == []
    assert detector.dump_state(state) == detector.dump_state(detector.initial_state())


def test_initial_state_round_trips_through_json(kind: AlertKind) -> None:
    detector = fresh(kind)
    initial = detector.initial_state()
    assert detector.dump_state(json_round_trip(detector, initial)) == detector.dump_state(initial)


def test_bare_fixes_without_a_site_raise_nothing(kind: AlertKind) -> None:
    # Position only, far away, no site, no activity or tamper fields: nothing to judge.
    bare = make_pledge(site=None)
    events = [Event(ts, fix(ts, (0.0, 0.0))) for ts in range(T0, T0 + 24 * HOUR, 5 * MIN)]
    _, found = run_detector(fresh(kind), events, bare)
    assert found == []


def test_a_detector_that_skips_ticks_gains_nothing_from_them(kind: AlertKind) -> None:
    # The engine's clock task leaves out detectors with ticks = False: they must not need it.
    detector = fresh(kind)
    if getattr(detector, "ticks", True):
        pytest.skip("judges ticks")
    with_ticks = run_detector(detector, STORY, PLEDGE)
    without = run_detector(fresh(kind), [e for e in STORY if e.reading is not None], PLEDGE)
    assert with_ticks[1] == without[1]
    assert detector.dump_state(with_ticks[0]) == detector.dump_state(without[0])
