"""Trucks: a day of deliveries from the depot, then a night parked with ignition off.

Mon-Sat the truck leaves at 05:30-07:00 local and is back by 19:00-21:30;
Sunday is a shorter day (07:00-08:30 to 17:30-19:00), so the longest rest
(around Sunday) stays under ~14 h, inside the 16 h idle threshold. Legs
follow wiggly road-like polylines at 40-90 km/h with jams and stops.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from devices.geo import LAND_PLACES, haversine_m, to_xy
from devices.kinds.base import (
    HOUR_MS,
    Activity,
    Draws,
    Leg,
    Route,
    Timeline,
    day_start_ms,
    key_of,
    local_day,
    rng_for,
    site_reach_m,
    weekday,
)

__all__ = ["Truck"]

_SALT = 0x7A0C
_MIN_STOP_MS = 20 * 60_000
_ROAD_FACTOR = 1.2  # road distance over straight-line distance
Point = tuple[float, float]


class Truck:
    mobile = True

    def __init__(self, asset_id: str, site: dict[str, Any], seed: int) -> None:
        self._seed, self._key = seed, key_of(asset_id)
        rng = rng_for(seed, self._key, _SALT)
        lat0, lon0 = float(site["lat"]), float(site["lon"])
        self._customers = _customers(lat0, lon0, 0.85 * site_reach_m(site), rng)
        self._bay: Point = (float(rng.normal(0, 25)), float(rng.normal(0, 25)))
        self._bay_heading = float(rng.uniform(0, 360))
        self._pace = float(rng.uniform(0.92, 1.05))  # > 1: a slower driver
        self._burn = float(rng.uniform(0.075, 0.1))  # % of the tank per km
        self._days: dict[int, Timeline] = {}

    def activity_at(self, t_ms: int, draws: Draws) -> Activity:
        leg = self._day(local_day(t_ms)).leg_at(t_ms)
        x, y, heading = leg.position(t_ms)
        fuel = leg.fuel(t_ms)
        if leg.mode == "drive":
            jammed = draws.uniform() < 0.1
            speed = draws.uniform(0, 12) if jammed else leg.speed_kmh * (1 + draws.normal(0.07))
            speed = min(max(speed, 0.0), 105.0)
            rpm = 750 + 11 * speed + draws.normal(40)
            return Activity(x, y, speed, heading, True, rpm, fuel_pct=fuel, heat_c=7.0)
        if leg.engine_on:
            return Activity(x, y, 0.0, heading, True, 650 + draws.normal(15), fuel_pct=fuel,
                            heat_c=5.0)
        return Activity(x, y, 0.0, heading, False, 0.0, fuel_pct=fuel)

    def _day(self, day: int) -> Timeline:
        timeline = self._days.get(day)
        if timeline is None:
            timeline = self._days[day] = self._plan(day)
            for old in [d for d in self._days if d < day - 1]:
                del self._days[old]
        return timeline

    def _plan(self, day: int) -> Timeline:
        rng = rng_for(self._seed, self._key, _SALT, day)
        midnight, sunday = day_start_ms(day), weekday(day) == 6
        depart = midnight + _hours(rng.uniform(7.0, 8.5) if sunday else rng.uniform(5.5, 7.0))
        end = midnight + _hours(rng.uniform(17.5, 19.0) if sunday else rng.uniform(19.0, 21.5))
        fuel = float(rng.uniform(88, 98))  # topped up at the depot overnight
        legs = [Leg(midnight, depart, "park", self._bay, self._bay_heading, fuel0=fuel, fuel1=fuel)]
        t, here = depart, self._bay
        while True:
            options = [c for c in self._customers if c != here and
                       t + self._drive_ms(here, c) + _MIN_STOP_MS + self._drive_ms(c, self._bay)
                       <= end]
            if not options:
                break
            there = options[int(rng.integers(len(options)))]
            drive = self._drive(t, here, there, legs[-1].fuel1, rng)
            stop_ms = int(rng.uniform(20, 90) * 60_000)
            stop = Leg(drive.t1_ms, drive.t1_ms + stop_ms, "stop", there, drive.heading_deg,
                       engine_on=bool(rng.random() < 0.3), fuel0=drive.fuel1, fuel1=drive.fuel1)
            legs += [drive, stop]
            t, here = stop.t1_ms, there
        slack = end - t - self._drive_ms(here, self._bay)
        if legs[-1].mode == "stop" and slack > 0:  # wait for the last load rather than idle early
            legs[-1] = replace(legs[-1], t1_ms=legs[-1].t1_ms + int(slack * rng.uniform(0.8, 1)))
        back = self._drive(legs[-1].t1_ms, here, self._bay, legs[-1].fuel1, rng)
        home = Leg(back.t1_ms, midnight + 24 * HOUR_MS, "park", self._bay, self._bay_heading,
                   fuel0=back.fuel1, fuel1=back.fuel1)
        return Timeline([*legs, back, home])

    def _drive_ms(self, a: Point, b: Point) -> int:
        km = math.dist(a, b) / 1000 * _ROAD_FACTOR
        cruise = 85.0 if km > 40 else 55.0
        return int(km / cruise * self._pace * HOUR_MS)

    def _drive(self, t_ms: int, a: Point, b: Point, fuel: float, rng: np.random.Generator) -> Leg:
        route = _road(a, b, rng)
        duration = max(self._drive_ms(a, b), 60_000)
        mean_kmh = route.length / 1000 / (duration / HOUR_MS)
        return Leg(t_ms, t_ms + duration, "drive", b, route.end_heading, route,
                   speed_kmh=mean_kmh / 0.93, engine_on=True, fuel0=fuel,
                   fuel1=fuel - self._burn * route.length / 1000)


def _hours(h: float) -> int:
    return int(h * HOUR_MS)


def _road(a: Point, b: Point, rng: np.random.Generator) -> Route:
    """A road-like polyline: two intermediate points pushed sideways."""
    (ax, ay), (bx, by) = a, b
    length = math.dist(a, b) or 1.0
    px, py = -(by - ay) / length, (bx - ax) / length
    points = [a]
    for f in (1 / 3, 2 / 3):
        side = float(rng.normal(0, 0.06 * length))
        points.append((ax + f * (bx - ax) + side * px, ay + f * (by - ay) + side * py))
    return Route([*points, b])


def _customers(lat0: float, lon0: float, reach_m: float, rng: np.random.Generator) -> list[Point]:
    """Named industrial towns inside the permitted region, or made-up ones far from them."""
    points = [to_xy(lat0, lon0, p.lat, p.lon) for p in LAND_PLACES
              if 5_000 < haversine_m(lat0, lon0, p.lat, p.lon) < reach_m]
    while len(points) < 3:
        r = reach_m * (0.1 if not points else float(rng.uniform(0.1, 0.5)))
        bearing = float(rng.uniform(0, 2 * math.pi))
        points.append((r * math.sin(bearing), r * math.cos(bearing)))
    return points
