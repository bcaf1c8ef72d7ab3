from __future__ import annotations

import random

import pytest

from monitor.detectors.fences import to_latlon, to_xy
from monitor.detectors.track import add_point, fit_track

MIN = 60_000
HOUR = 3_600_000


def track(positions: list[tuple[float, float]], step_ms: int = 5 * MIN, jump_m: float = 80.0,
          window_ms: int = 3 * HOUR) -> list[float]:
    points: list[float] = []
    for i, (x, y) in enumerate(positions):
        add_point(points, i * step_ms, x, y, window_ms=window_ms, spacing_ms=4 * MIN,
                  jump_m=jump_m)
    return points


def test_a_parked_asset_stands_still_within_its_errors() -> None:
    rng = random.Random(3)
    points = track([(rng.gauss(0, 10), rng.gauss(0, 10)) for _ in range(36)])
    fit = fit_track(points, 35 * 5 * MIN, sigma_floor_m=1.0)
    assert fit is not None
    assert fit.speed_m_h < 4 * fit.se_speed_m_h
    assert 7 < fit.se_speed_m_h * (fit.points ** 0.5) < 40  # the residuals gave ~10 m noise


def test_a_steady_drift_is_measured_through_noise() -> None:
    rng = random.Random(5)  # 40 m/h east-north-east for three hours, 10 m noise
    points = track([(36 * i / 12 + rng.gauss(0, 10), 18 * i / 12 + rng.gauss(0, 10))
                    for i in range(36)])
    fit = fit_track(points, 35 * 5 * MIN, sigma_floor_m=10.0)
    assert fit is not None
    assert fit.vx_m_h == pytest.approx(36, abs=3 * fit.se_speed_m_h)
    assert fit.vy_m_h == pytest.approx(18, abs=3 * fit.se_speed_m_h)
    assert fit.x_m == pytest.approx(105, abs=3 * fit.se_now_m)
    assert fit.se_now_m < 4.0  # a fix alone is 10 m out


def test_a_machine_driven_between_spots_has_no_velocity() -> None:
    points = track([(0.0, 0.0)] * 12 + [(0.0, 150.0)] * 12 + [(100.0, 150.0)] * 12)
    fit = fit_track(points, 35 * 5 * MIN, sigma_floor_m=5.0)
    assert fit is not None
    assert (fit.segments, fit.last, fit.speed_m_h) == (3, 12, 0.0)
    assert (fit.x_m, fit.y_m) == (100.0, 150.0)


def test_points_are_spaced_and_forgotten_after_the_window() -> None:
    points: list[float] = []
    for t in range(0, 5 * HOUR, MIN):  # a fix a minute, kept one in four
        add_point(points, t, 0.0, 0.0, window_ms=3 * HOUR, spacing_ms=4 * MIN, jump_m=50)
    times = points[0::4]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) == 4 * MIN
    assert times[-1] - times[0] == 3 * HOUR and len(times) == 46  # older ones forgotten


def test_too_few_points_fit_nothing() -> None:
    assert fit_track(track([(0.0, 0.0)] * 2), 5 * MIN, 5.0) is None
    assert fit_track(track([(0.0, 0.0), (500.0, 0.0)] * 4), 40 * MIN, 5.0) is None  # all jumps


def test_plane_round_trip() -> None:
    x, y = to_xy(48.0, 11.0, 48.01, 11.02)
    assert to_latlon(48.0, 11.0, x, y) == pytest.approx((48.01, 11.02), abs=1e-12)
    assert y == pytest.approx(1112, abs=1)
