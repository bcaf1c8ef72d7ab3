"""Ships: port stays and short voyages inside the permitted area.

A cycle is: alongside for 8-30 h (bunkering if low), out through the channel
at 6 kn, to an open-water point at 10-18 kn, often at anchor there for
2-10 h, sometimes on to a second point, and back. The engine is off at berth
and at anchor, so the longest rest (~30 h) stays inside the 48 h idle
threshold. Open-water points are the region's (``devices.geo``) when the
home port is one we know, otherwise points well inside the area.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from devices.geo import nearest_region, to_xy
from devices.kinds.base import (
    HOUR_MS,
    Activity,
    Draws,
    Leg,
    Route,
    Timeline,
    key_of,
    rng_for,
    site_reach_m,
)

__all__ = ["Ship", "KNOT_KMH"]

KNOT_KMH = 1.852
_SALT = 0x5A11
_CHANNEL_M = 3000.0
_HARBOUR_KN = 6.0
_SWING_M = 80.0  # radius a ship at anchor swings around
Point = tuple[float, float]


class Ship:
    mobile = True

    def __init__(self, asset_id: str, site: dict[str, Any], seed: int, start_ms: int) -> None:
        key = key_of(asset_id)
        rng = rng_for(seed, key, _SALT)
        lat0, lon0 = float(site["lat"]), float(site["lon"])
        self._sea = _open_water(lat0, lon0, 0.85 * site_reach_m(site), rng)
        self._berth: Point = (float(rng.normal(0, 60)), float(rng.normal(0, 60)))
        self._berth_heading = float(rng.uniform(0, 360))
        self._cruise_kn = float(rng.uniform(11, 16))
        self._burn = float(rng.uniform(0.6, 1.0))  # % of the bunkers per hour under way
        self._plan_rng = rng_for(seed, key, _SALT, 1)
        fuel = float(rng.uniform(55, 95))
        stay = int(rng.uniform(0.5, 24) * HOUR_MS)  # already alongside when the run starts
        self._timeline = Timeline([Leg(start_ms, start_ms + stay, "berth", self._berth,
                                       self._berth_heading, fuel0=fuel, fuel1=fuel)])

    def activity_at(self, t_ms: int, draws: Draws) -> Activity:
        while self._timeline.end_ms <= t_ms:
            self._voyage()
        leg = self._timeline.leg_at(t_ms)
        x, y, heading = leg.position(t_ms)
        fuel = leg.fuel(t_ms)
        if leg.mode == "sail":
            knots = leg.speed_kmh / KNOT_KMH * (1 + draws.normal(0.03))
            return Activity(x, y, knots * KNOT_KMH, (heading + draws.normal(2.0)) % 360, True,
                            20 + 7 * knots + draws.normal(1.0), fuel_pct=fuel, heat_c=6.0)
        if leg.mode == "anchor":
            phase = 2 * math.pi * (t_ms % (6 * HOUR_MS)) / (6 * HOUR_MS)  # swinging with the tide
            return Activity(x + _SWING_M * math.sin(phase), y + _SWING_M * math.cos(phase),
                            abs(draws.normal(0.3)), (math.degrees(phase) + 90) % 360, False, 0.0,
                            fuel_pct=fuel)
        return Activity(x, y, 0.0, heading, False, 0.0, fuel_pct=fuel)

    def _voyage(self) -> None:
        rng = self._plan_rng
        berth = self._timeline.legs[-1]
        first = self._sea[int(rng.integers(len(self._sea)))]
        channel = _towards(self._berth, first, _CHANNEL_M)
        stops = [first]
        if rng.random() < 0.35 and len(self._sea) > 1:
            stops.append(self._sea[(self._sea.index(first) + 1) % len(self._sea)])
        t, fuel = berth.t1_ms, berth.fuel1
        here = self._berth
        for there, knots in ([(channel, _HARBOUR_KN)] + [(s, self._speed(rng)) for s in stops]
                             + [(channel, self._speed(rng)), (self._berth, _HARBOUR_KN)]):
            leg = self._sail(t, here, there, knots, fuel)
            self._timeline.append(leg)
            t, fuel, here = leg.t1_ms, leg.fuel1, there
            if there in stops and rng.random() < 0.6:
                anchor = int(rng.uniform(2, 10) * HOUR_MS)
                self._timeline.append(Leg(t, t + anchor, "anchor", there, leg.heading_deg,
                                          fuel0=fuel, fuel1=fuel))
                t += anchor
        bunkered = max(fuel, float(rng.uniform(88, 96))) if fuel < 45 else fuel
        stay = int(rng.uniform(8, 30) * HOUR_MS)
        self._timeline.append(Leg(t, t + stay, "berth", self._berth, self._berth_heading,
                                  fuel0=fuel, fuel1=bunkered))

    def _speed(self, rng: np.random.Generator) -> float:
        return min(max(self._cruise_kn + float(rng.uniform(-1.5, 2.0)), 10.0), 18.0)

    def _sail(self, t_ms: int, a: Point, b: Point, knots: float, fuel: float) -> Leg:
        route = Route([a, b])
        hours = route.length / 1000 / (knots * KNOT_KMH)
        return Leg(t_ms, t_ms + max(int(hours * HOUR_MS), 60_000), "sail", b, route.end_heading,
                   route, speed_kmh=knots * KNOT_KMH, engine_on=True, fuel0=fuel,
                   fuel1=max(fuel - self._burn * hours, 5.0))


def _towards(a: Point, b: Point, distance_m: float) -> Point:
    length = math.dist(a, b) or 1.0
    f = min(1.0, distance_m / length)
    return a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])


def _open_water(lat0: float, lon0: float, reach_m: float, rng: np.random.Generator) -> list[Point]:
    region, distance = nearest_region(lat0, lon0)
    points = []
    if distance < 30_000:
        points = [xy for xy in (to_xy(lat0, lon0, lat, lon) for lat, lon in region.sea)
                  if math.hypot(*xy) < reach_m]
    while len(points) < 2:
        r, a = reach_m * float(rng.uniform(0.3, 0.6)), float(rng.uniform(0, 2 * math.pi))
        points.append((r * math.sin(a), r * math.cos(a)))
    return points
