"""What every kind of asset shares: local time, seeded draws, routes, timelines.

A behaviour answers one question, "what is this asset doing at device time
``t_ms``?", as an ``Activity`` in metres east/north of its anchor. Plans
(a truck's day, a ship's voyages) come from generators seeded by (seed,
asset, day), and per-reading noise from a per-device stream consumed in
reading order, so the answer never depends on how a caller chunks time.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from devices.geo import to_xy

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "LOCAL_OFFSET_MS",
    "Activity",
    "Behaviour",
    "DailyHours",
    "Draws",
    "DrawStream",
    "Leg",
    "Route",
    "Timeline",
    "ambient_c",
    "day_start_ms",
    "heading_deg",
    "key_of",
    "local_day",
    "local_hour",
    "rng_for",
    "site_reach_m",
    "weekday",
]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
#: China Standard Time (UTC+8, no daylight saving): duty cycles follow local hours.
LOCAL_OFFSET_MS = 8 * HOUR_MS
Point = tuple[float, float]


def local_day(t_ms: int) -> int:
    """Days since 1970-01-01 in local time.

    >>> local_day(16 * HOUR_MS - 1), local_day(16 * HOUR_MS)
    (0, 1)
    """
    return (t_ms + LOCAL_OFFSET_MS) // DAY_MS


def day_start_ms(day: int) -> int:
    """UTC epoch ms of local midnight starting ``day``."""
    return day * DAY_MS - LOCAL_OFFSET_MS


def local_hour(t_ms: int) -> float:
    return ((t_ms + LOCAL_OFFSET_MS) % DAY_MS) / HOUR_MS


def weekday(day: int) -> int:
    """Monday is 0 (1970-01-01 was a Thursday).

    >>> weekday(0)
    3
    """
    return (day + 3) % 7


def key_of(text: str) -> int:
    """A stable integer key for an id (``hash()`` is salted per process)."""
    return zlib.crc32(text.encode())


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent generator for (seed, keys...)."""
    return np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, *keys])


def ambient_c(lat: float, t_ms: int) -> float:
    """Outdoor air temperature: season by latitude, warmest mid-afternoon.

    >>> 20 < ambient_c(22.6, 1_752_000_000_000) < 35   # Shenzhen, July
    True
    """
    day_of_year = (t_ms / DAY_MS) % 365.2425
    amplitude = 6.0 + 0.6 * max(0.0, abs(lat) - 22.0)
    seasonal = 23.0 - 0.6 * (abs(lat) - 22.0) + amplitude * math.cos(
        2 * math.pi * (day_of_year - 200.0) / 365.2425)
    return seasonal + 4.5 * math.cos(2 * math.pi * (local_hour(t_ms) - 15.0) / 24.0)


class Draws:
    """The random numbers of one reading: standard normals and uniforms in [0, 1)."""

    __slots__ = ("_z", "_u", "_iz", "_iu")

    def __init__(self, z: list[float], u: list[float]) -> None:
        self._z, self._u, self._iz, self._iu = z, u, 0, 0

    def normal(self, sigma: float = 1.0) -> float:
        value = self._z[self._iz]
        self._iz += 1
        return value * sigma

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        value = self._u[self._iu]
        self._iu += 1
        return low + (high - low) * value


class DrawStream:
    """Per-device draws, generated a few readings ahead, consumed one reading at a time.

    Blocks stay small: with 10,000 devices the look-ahead is what costs memory.
    """

    NORMALS = 16
    UNIFORMS = 8

    def __init__(self, seed: int, key: int, block: int = 8) -> None:
        self._rng = rng_for(seed, key, 0xD7A5)
        self._block = block
        self._z = np.empty((0, self.NORMALS))
        self._u = np.empty((0, self.UNIFORMS))
        self._i = 0

    def next(self) -> Draws:
        if self._i == len(self._z):
            self._z = self._rng.standard_normal((self._block, self.NORMALS))
            self._u = self._rng.random((self._block, self.UNIFORMS))
            self._i = 0
        draws = Draws(self._z[self._i].tolist(), self._u[self._i].tolist())
        self._i += 1
        return draws


@dataclass(frozen=True, slots=True)
class Activity:
    """What an asset does at one instant, before the tracker measures it.

    Position is metres east (x) and north (y) of the anchor. Fields a kind
    does not have stay ``None`` and are not reported. ``heat_c`` is how much
    warmer than the air the tracker's sensor reads (engine bay, motor casing).
    """

    x_m: float
    y_m: float
    speed_kmh: float
    heading_deg: float
    ignition: bool
    engine_rpm: float | None = None
    power_kw: float | None = None
    vibration_mm_s: float | None = None
    fuel_pct: float | None = None
    heat_c: float = 0.0


class Behaviour(Protocol):
    """One asset's normal duty cycle; called with non-decreasing ``t_ms``."""

    #: Trucks and ships move by design; construction machines and plant do not.
    mobile: bool

    def activity_at(self, t_ms: int, draws: Draws) -> Activity: ...


class DailyHours:
    """A fixed asset's working hours, drawn per local day from (seed, asset, day).

    >>> hours = DailyHours(1, 2, 3, (6.0, 6.5), (22.0, 23.0))
    >>> hours(20_000) == hours(20_000) and 6.0 <= hours(20_000)[0] < 6.5
    True
    """

    __slots__ = ("_keys", "_start", "_end", "_days")

    def __init__(self, seed: int, key: int, salt: int, start_h: tuple[float, float],
                 end_h: tuple[float, float]) -> None:
        self._keys, self._start, self._end = (seed, key, salt), start_h, end_h
        self._days: dict[int, tuple[float, float]] = {}

    def __call__(self, day: int) -> tuple[float, float]:
        hours = self._days.get(day)
        if hours is None:
            rng = rng_for(*self._keys, day)
            hours = self._days[day] = (float(rng.uniform(*self._start)),
                                       float(rng.uniform(*self._end)))
            for old in [d for d in self._days if d < day - 1]:
                del self._days[old]
        return hours


class Route:
    """A polyline in local metres, walked at constant pace.

    >>> Route([(0.0, 0.0), (0.0, 100.0), (100.0, 100.0)]).at(0.75)
    (50.0, 100.0, 90.0)
    """

    __slots__ = ("points", "_cum", "length")

    def __init__(self, points: Sequence[Point]) -> None:
        self.points = list(points)
        self._cum = [0.0]
        for (x0, y0), (x1, y1) in zip(self.points, self.points[1:], strict=False):
            self._cum.append(self._cum[-1] + math.hypot(x1 - x0, y1 - y0))
        self.length = self._cum[-1]

    def at(self, frac: float) -> tuple[float, float, float]:
        """Position and compass heading at ``frac`` (0..1) of the length."""
        d = min(max(frac, 0.0), 1.0) * self.length
        i = min(max(bisect.bisect_right(self._cum, d) - 1, 0), len(self.points) - 2)
        (x0, y0), (x1, y1) = self.points[i], self.points[i + 1]
        seg = self._cum[i + 1] - self._cum[i]
        f = (d - self._cum[i]) / seg if seg > 0 else 0.0
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0), heading_deg(x1 - x0, y1 - y0)

    @property
    def end_heading(self) -> float:
        (x0, y0), (x1, y1) = self.points[-2], self.points[-1]
        return heading_deg(x1 - x0, y1 - y0)


def heading_deg(dx: float, dy: float) -> float:
    """Compass heading of a displacement (0 north, 90 east)."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


@dataclass(frozen=True, slots=True)
class Leg:
    """One stretch of a plan: moving along ``route`` or staying at ``at``."""

    t0_ms: int
    t1_ms: int
    mode: str  # e.g. "park", "drive", "stop"; "berth", "sail", "anchor"
    at: Point
    heading_deg: float
    route: Route | None = None
    speed_kmh: float = 0.0  # typical speed while moving
    engine_on: bool = False
    fuel0: float = 0.0
    fuel1: float = 0.0

    def position(self, t_ms: int) -> tuple[float, float, float]:
        if self.route is None:
            return self.at[0], self.at[1], self.heading_deg
        return self.route.at(self._frac(t_ms))

    def fuel(self, t_ms: int) -> float:
        return self.fuel0 + (self.fuel1 - self.fuel0) * self._frac(t_ms)

    def _frac(self, t_ms: int) -> float:
        span = self.t1_ms - self.t0_ms
        return (t_ms - self.t0_ms) / span if span > 0 else 1.0


class Timeline:
    """Legs back to back; ``leg_at`` finds the one covering an instant."""

    __slots__ = ("legs", "_starts")

    def __init__(self, legs: Sequence[Leg] = ()) -> None:
        self.legs: list[Leg] = []
        self._starts: list[int] = []
        for leg in legs:
            self.append(leg)

    def append(self, leg: Leg) -> None:
        self.legs.append(leg)
        self._starts.append(leg.t0_ms)

    @property
    def end_ms(self) -> int:
        return self.legs[-1].t1_ms if self.legs else -(2**62)

    def leg_at(self, t_ms: int) -> Leg:
        i = bisect.bisect_right(self._starts, t_ms) - 1
        return self.legs[min(max(i, 0), len(self.legs) - 1)]


def site_reach_m(site: dict[str, Any]) -> float:
    """How far the pledged site reaches from its anchor in every direction.

    >>> site_reach_m({"lat": 31.0, "lon": 121.0, "radius_m": 500})
    500.0
    """
    if site.get("radius_m") is not None:
        return float(site["radius_m"])
    lat0, lon0 = float(site["lat"]), float(site["lon"])
    ring = [to_xy(lat0, lon0, float(lat), float(lon)) for lon, lat in site["polygon"]]
    return min(_distance_to_segment(a, b) for a, b in zip(ring, ring[1:], strict=False))


def _distance_to_segment(a: Point, b: Point) -> float:
    """Distance from the origin to the segment a-b."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    span = dx * dx + dy * dy
    f = 0.0 if span == 0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / span))
    return math.hypot(ax + f * dx, ay + f * dy)
