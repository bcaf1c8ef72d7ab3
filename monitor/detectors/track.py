"""A straight-line track through an asset's recent fixes: where it is now, how fast it moves.

A slow drift off a site is hard to see fix by fix (each fix scatters as far
as the drift has gone) but plain in a line fitted through a few hours of
fixes: the fitted speed of a parked asset is zero within a few metres an
hour, and the line's end is known far better than any one fix. Points are
metres east/north of the site's anchor (``fences.to_xy``), kept in a flat
list ``[t_ms, x, y, segment, ...]`` (plain data, for the detector's
checkpointed state).

>>> points: list[float] = []
>>> for i in range(12):  # 60 m/h north, a fix every 5 minutes, no noise
...     _ = add_point(points, i * 300_000, 0.0, 5.0 * i, window_ms=7_200_000, spacing_ms=0,
...                   jump_m=50.0)
>>> fit = fit_track(points, now_ms=3_300_000, sigma_floor_m=10.0)
>>> round(fit.y_m, 1), round(fit.vy_m_h, 1), round(fit.se_now_m, 1)
(55.0, 60.0, 5.4)
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from math import hypot, sqrt
from operator import mul

__all__ = ["HOUR_MS", "TrackFit", "add_point", "fit_track", "prune", "since"]

HOUR_MS = 3_600_000.0


@dataclass(frozen=True, slots=True)
class TrackFit:
    x_m: float  # where the line puts the asset at ``now_ms``
    y_m: float
    vx_m_h: float
    vy_m_h: float
    se_now_m: float  # standard error of that position, per axis
    se_speed_m_h: float  # standard error of the speed, per axis
    points: int
    segments: int
    last: int  # points in the last segment

    @property
    def speed_m_h(self) -> float:
        return hypot(self.vx_m_h, self.vy_m_h)

    def at(self, hours: float) -> tuple[float, float]:
        """The line's position ``hours`` from ``now_ms`` (negative: earlier)."""
        return self.x_m + self.vx_m_h * hours, self.y_m + self.vy_m_h * hours


def add_point(points: list[float], t_ms: int, x_m: float, y_m: float, *, window_ms: int,
              spacing_ms: int, jump_m: float) -> bool:
    """Append a fix at least ``spacing_ms`` after the last one; forget those older than
    ``window_ms`` (spacing keeps a fast reporter's window as long as a slow one's).

    A fix more than ``jump_m`` from the last starts a new segment: the machine
    was driven to another spot (or the fix is an outlier, alone in its segment);
    a negative ``jump_m`` always does. True if the fix was kept.
    """
    segment = 0.0
    if points:
        if t_ms - points[-4] < spacing_ms:
            return False
        segment = points[-1]
        if hypot(x_m - points[-3], y_m - points[-2]) > jump_m:
            segment += 1.0
    points += (float(t_ms), x_m, y_m, segment)
    prune(points, t_ms - window_ms)
    return True


def since(points: list[float], t_ms: float) -> int:
    """Index of the first point at or after ``t_ms`` (``len(points)`` if none)."""
    i = 0
    while i < len(points) and points[i] < t_ms:
        i += 4
    return i


def prune(points: list[float], oldest_ms: float) -> None:
    """Drop the points older than ``oldest_ms``."""
    i = since(points, oldest_ms)
    if i:
        del points[:i]


def fit_track(points: list[float], now_ms: int, sigma_floor_m: float) -> TrackFit | None:
    """One velocity through every segment, each with its own start; None if too few points.

    Least squares with a level per segment (the spots a machine is driven
    between) and a common velocity: a parked machine's velocity is zero
    however often it is moved. The position now is the last segment's. The
    noise is the residuals' scatter, never below ``sigma_floor_m``.
    """
    n_all = len(points) // 4
    if n_all < 3:
        return None
    # Built-in sums over slices: the fit runs on every fix near the fence line.
    times = [(t - now_ms) / HOUR_MS for t in points[0::4]]
    xs, ys, segs = points[1::4], points[2::4], points[3::4]
    vt = cx = cy = rss = 0.0
    segments = 0
    lo = 0
    while lo < n_all:  # segment ids are consecutive and rising: each is one slice
        hi = bisect_right(segs, segs[lo], lo)
        t, x, y = times[lo:hi], xs[lo:hi], ys[lo:hi]
        n = hi - lo
        tbar, xbar, ybar = sum(t) / n, sum(x) / n, sum(y) / n
        vt += sum(map(mul, t, t)) - n * tbar * tbar
        cx += sum(map(mul, t, x)) - n * tbar * xbar
        cy += sum(map(mul, t, y)) - n * tbar * ybar
        rss += sum(map(mul, x, x)) - n * xbar * xbar + sum(map(mul, y, y)) - n * ybar * ybar
        segments += 1
        lo = hi
    dof = 2 * (n_all - segments - 1)
    if dof < 2 or vt <= 0.0:
        return None
    vx, vy = cx / vt, cy / vt
    rss -= (vx * vx + vy * vy) * vt
    sigma = sqrt(max(rss, 0.0) / dof)
    sigma = sigma if sigma > sigma_floor_m else sigma_floor_m
    return TrackFit(xbar - vx * tbar, ybar - vy * tbar, vx, vy,
                    sigma * sqrt(1.0 / n + tbar * tbar / vt), sigma / sqrt(vt), n_all, segments, n)
