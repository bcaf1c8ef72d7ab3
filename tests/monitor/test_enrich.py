from __future__ import annotations

from monitor.engine import DetectionEngine, default_detectors
from monitor.enrich import FixFilter, annotate
from tests.monitor.factories import ANCHOR, HOUR, MIN, T0, fix, make_pledge, make_reading, moved

PLEDGE = make_pledge()


def reasons(*readings: object) -> list[str]:
    filt = FixFilter()
    state = filt.initial_state()
    return [filt.admit(state, r, PLEDGE, high_ms=T0)[1] for r in readings]  # type: ignore[arg-type]


def test_duplicates_out_of_order_and_future_readings_are_dropped() -> None:
    first = fix(T0 + MIN, ANCHOR)
    assert reasons(first, first, fix(T0, ANCHOR), fix(T0 + 30 * HOUR, ANCHOR)) == [
        "ok", "duplicate", "out_of_order", "future"]


def test_bad_positions_are_removed_and_the_rest_kept() -> None:
    filt, state = FixFilter(), FixFilter().initial_state()
    filt.admit(state, fix(T0, ANCHOR), PLEDGE, T0)
    cases = [(fix(T0 + MIN, ANCHOR, gnss_fix=1, tamper=True), "no_fix"),
             (fix(T0 + 2 * MIN, (0.0, 0.0)), "zero_position"),
             (fix(T0 + 3 * MIN, ANCHOR, hdop=9.0), "poor_accuracy"),
             (fix(T0 + 4 * MIN, moved(ANCHOR, 100_000, 0)), "implausible_speed"),
             (fix(T0 + 1000, moved(ANCHOR, 1, 0)), "min_period")]
    for reading, why in cases:
        if why == "min_period":  # within 5 s of the last accepted fix
            state.last_ts_ms = T0
        clean, reason = filt.admit(state, reading, PLEDGE, T0)
        assert reason == why
        assert clean is not None and clean.lat is None
        assert clean.tamper == reading.tamper


def test_twelve_agreeing_fixes_elsewhere_reanchor() -> None:
    far = moved(ANCHOR, 100_000, 0)
    got = reasons(fix(T0, ANCHOR), *(fix(T0 + i * MIN, far) for i in range(1, 14)))
    assert got == ["ok"] + ["implausible_speed"] * 11 + ["ok", "ok"]


def test_annotation_names_distance_and_site() -> None:
    assert annotate(fix(T0, moved(ANCHOR, 300, 0)), PLEDGE) == {
        "distance_from_anchor_m": 300.0, "in_pledged_site": False}
    assert annotate(make_reading(T0), PLEDGE) == {}


def test_the_engine_counts_what_it_filtered_and_survives_a_snapshot() -> None:
    engine = DetectionEngine(default_detectors())
    engine.observe(fix(T0, ANCHOR), PLEDGE)
    engine.observe(fix(T0, ANCHOR), PLEDGE)
    engine.observe(fix(T0 + MIN, (0.0, 0.0)), PLEDGE)
    assert engine.filtered == {"duplicate": 1, "zero_position": 1}
    again = DetectionEngine(default_detectors())
    again.restore(engine.snapshot())
    again.observe(fix(T0 + MIN, ANCHOR), PLEDGE)
    assert again.filtered == {"duplicate": 1}
