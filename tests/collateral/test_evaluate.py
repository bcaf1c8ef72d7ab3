"""``collateral evaluate``'s relocation timing: from when the asset really left its fence."""

from __future__ import annotations

from collateral.evaluate import exit_delays, true_exit_ms
from monitor.detectors.fences import build_fence
from monitor.scoring import Label, Scored
from tests.monitor.factories import ANCHOR, MIN, T0, make_pledge, moved

PLEDGE = make_pledge()  # 200 m circle, 10-min dwell, 5-min cadence
FENCE = build_fence(PLEDGE.site, default_radius_m=500.0)  # type: ignore[arg-type]


def _path(norths: list[float]) -> list[tuple[int, float, float]]:
    return [(T0 + i * 5 * MIN, *moved(ANCHOR, north, 0)) for i, north in enumerate(norths)]


def test_the_true_exit_is_the_crossing_it_stays_beyond_for_the_dwell() -> None:
    # Out at 5 min for one reading only, back in, then out for good from 20 min.
    path = _path([150, 205, 190, 199, 201, 210, 220, 230])
    assert true_exit_ms(path, FENCE, T0, 10 * MIN) == T0 + 20 * MIN
    assert true_exit_ms(path[:3], FENCE, T0, 10 * MIN) is None  # never left for the dwell


def test_exit_delays_count_alerts_within_the_dwell_plus_two_readings() -> None:
    truth = {"a1": _path([150, 190, 201, 210, 220, 230, 240, 250, 260])}  # left at 10 min
    labels = [Label("a1", "relocation_slow_drift", "geofence_exit", False, T0, T0 + 60 * MIN)]
    on_time = exit_delays(labels, [Scored("a1", "geofence_exit", T0 + 30 * MIN)], truth,
                          {"a1": PLEDGE})
    late = exit_delays(labels, [Scored("a1", "geofence_exit", T0 + 31 * MIN)], truth,
                       {"a1": PLEDGE})
    assert (on_time["alerts"], on_time["within_dwell_plus_two_readings"]) == (1, 1)
    assert on_time["median_s"] == 20 * 60
    assert (late["alerts"], late["within_dwell_plus_two_readings"]) == (1, 0)
