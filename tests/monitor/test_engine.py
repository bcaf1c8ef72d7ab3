from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ingest.wire import Reading
from monitor.engine import DetectionEngine, default_detectors, spine_detectors
from monitor.model import AlertKind, Finding, Pledge
from tests.monitor.factories import (
    ANCHOR,
    HOUR,
    MIN,
    T0,
    Event,
    fix,
    make_pledge,
    make_reading,
    story,
)


class Exploding:
    """A detector that fails on every call, to prove the others carry on."""

    kind = AlertKind.IDLE

    def initial_state(self) -> None:
        return None

    def on_reading(self, state: None, reading: Reading,
                   pledge: Pledge) -> tuple[None, Sequence[Finding]]:
        raise RuntimeError("boom")

    def on_tick(self, state: None, pledge: Pledge, now_ms: int) -> tuple[None, Sequence[Finding]]:
        raise RuntimeError("boom")

    def dump_state(self, state: None) -> dict[str, Any]:
        return {}

    def load_state(self, data: Mapping[str, Any]) -> None:
        raise ValueError("cannot load")


def drive(engine: DetectionEngine, events: Sequence[Event],
          pledges: Mapping[str, Pledge]) -> list[Finding]:
    out: list[Finding] = []
    for event in events:
        if event.reading is None:
            out += engine.tick(event.now_ms, pledges)
        else:
            out += engine.observe(event.reading, pledges["a1"])
    return out


def test_default_detectors_cover_every_kind_once() -> None:
    assert sorted(d.kind for d in default_detectors()) == sorted(AlertKind)


def test_observe_returns_every_detectors_findings() -> None:
    engine = DetectionEngine(default_detectors())
    pledge = make_pledge()
    assert engine.observe(fix(T0, ANCHOR, tamper=False, ext_power=True), pledge) == []
    found = engine.observe(fix(T0 + MIN, ANCHOR, tamper=True), pledge)
    assert [(f.kind, f.active, f.asset_id) for f in found] == [(AlertKind.TAMPER, True, "a1")]


def test_the_story_through_the_engine_raises_every_kind() -> None:
    pledges = {"a1": make_pledge(idle_after_s=3600)}
    found = drive(DetectionEngine(default_detectors()), story(), pledges)
    assert {f.kind for f in found if f.active} == set(AlertKind)
    assert {f.kind for f in found if not f.active} == set(AlertKind)


def test_tick_judges_only_assets_that_reported_and_still_have_a_pledge() -> None:
    engine = DetectionEngine(default_detectors())
    a1, a2, a3 = (make_pledge(a) for a in ("a1", "a2", "a3"))
    engine.observe(make_reading(T0), a1)
    engine.observe(make_reading(T0), a2)
    found = engine.tick(T0 + HOUR, {"a1": a1, "a3": a3})  # a2 released, a3 never reported
    assert [(f.asset_id, f.kind) for f in found] == [("a1", AlertKind.TRACKER_DARK)]
    assert len(engine) == 2


def test_a_failing_detector_is_logged_and_the_others_go_on(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = DetectionEngine([Exploding(), *spine_detectors()[2:]])
    pledge = make_pledge()
    with caplog.at_level(logging.ERROR, logger="monitor.engine"):
        found = engine.observe(make_reading(T0, tamper=True), pledge)
        found += engine.tick(T0 + HOUR, {"a1": pledge})
    assert [f.kind for f in found] == [AlertKind.TAMPER, AlertKind.TRACKER_DARK]
    assert engine.failures == {"idle": 2}
    assert "detector idle failed on reading for asset a1" in caplog.text
    assert caplog.records[0].exc_info is not None


def test_snapshot_round_trips_through_json_and_continues_identically() -> None:
    pledges = {"a1": make_pledge(idle_after_s=3600)}
    events = story()
    whole = DetectionEngine(default_detectors())
    expected = drive(whole, events, pledges)
    for cut in (10, 55, 100, 133):
        first = DetectionEngine(default_detectors())
        head = drive(first, events[:cut], pledges)
        second = DetectionEngine(default_detectors())
        second.restore(json.loads(json.dumps(first.snapshot())))
        assert second.snapshot() == first.snapshot()
        assert head + drive(second, events[cut:], pledges) == expected
    assert whole.snapshot()["version"] == 1


def test_restore_starts_missing_or_broken_states_fresh(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = DetectionEngine([Exploding(), *spine_detectors()[2:]])
    with caplog.at_level(logging.ERROR, logger="monitor.engine"):
        engine.restore({"version": 1, "assets": {"a1": {"idle": {"x": 1}}}})
    assert "failed on restore" in caplog.text
    dark = engine.snapshot()["assets"]["a1"]["tracker_dark"]
    assert engine.snapshot()["assets"]["a1"]["_filter"]["last_ts_ms"] is None
    assert dark == {"last_ts_ms": None, "now_ms": None, "alarm": False, "reported_ms": None}


def test_restore_refuses_an_unknown_snapshot_version() -> None:
    with pytest.raises(ValueError, match="version"):
        DetectionEngine(default_detectors()).restore({"version": 99, "assets": {}})


def test_two_detectors_of_one_kind_are_refused() -> None:
    with pytest.raises(ValueError, match="one detector per kind"):
        DetectionEngine([*default_detectors(), *default_detectors()[:1]])


def test_forget_drops_an_assets_state() -> None:
    engine = DetectionEngine(default_detectors())
    pledge = make_pledge()
    engine.observe(make_reading(T0), pledge)
    engine.forget("a1")
    engine.forget("never-seen")
    assert len(engine) == 0 and engine.tick(T0 + HOUR, {"a1": pledge}) == []
