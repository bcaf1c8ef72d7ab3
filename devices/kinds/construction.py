"""Construction machines: shifts on site, moving between a few work spots.

Mon-Sat one long shift (06:30-07:00 to 19:30-20:00 local, lunch break);
Sunday two short sessions (07:30-11:30, 16:00-19:30), so no rest is longer
than ~12.5 h, inside the 14 h idle threshold. The machine never leaves
~80 m of its anchor; it works (high rpm, load, vibration) or idles.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

from devices.kinds.base import (
    HOUR_MS,
    Activity,
    Draws,
    day_start_ms,
    heading_deg,
    key_of,
    local_day,
    rng_for,
    site_reach_m,
    weekday,
)

__all__ = ["Construction"]

_SALT = 0xC0A5
_CRAWL_KMH = 3.0
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class _WorkDay:
    windows: tuple[tuple[int, int], ...]  # engine-on periods, epoch ms
    move_at: tuple[int, ...]  # when the machine drives to another spot
    spots: tuple[int, ...]  # which spot, per move
    fuel0: float

    def on(self, t_ms: int) -> bool:
        return any(a <= t_ms < b for a, b in self.windows)

    def on_hours_before(self, t_ms: int) -> float:
        return sum(max(0, min(b, t_ms) - a) for a, b in self.windows) / HOUR_MS


class Construction:
    mobile = False

    def __init__(self, asset_id: str, site: dict[str, Any], seed: int) -> None:
        self._seed, self._key = seed, key_of(asset_id)
        rng = rng_for(seed, self._key, _SALT)
        spread = min(80.0, 0.25 * site_reach_m(site))
        self._spots: list[Point] = []
        for _ in range(int(rng.integers(3, 6))):
            r, a = spread * math.sqrt(float(rng.random())), float(rng.uniform(0, 2 * math.pi))
            self._spots.append((r * math.sin(a), r * math.cos(a)))
        self._parked_heading = [float(rng.uniform(0, 360)) for _ in self._spots]
        self._rated_kw = float(rng.uniform(90, 250))
        self._work_rpm = float(rng.uniform(1750, 2000))
        self._burn = float(rng.uniform(3.0, 4.5))  # % of the tank per engine hour
        self._days: dict[int, _WorkDay] = {}

    def activity_at(self, t_ms: int, draws: Draws) -> Activity:
        day = local_day(t_ms)
        plan = self._day(day)
        x, y, heading, moving = self._where(day, plan, t_ms)
        fuel = plan.fuel0 - self._burn * plan.on_hours_before(t_ms)
        if not plan.on(t_ms):
            return Activity(x, y, 0.0, heading, False, 0.0, 0.0, abs(draws.normal(0.03)), fuel)
        if moving:
            return Activity(x, y, _CRAWL_KMH + draws.normal(0.3), heading, True,
                            1300 + draws.normal(40), 0.35 * self._rated_kw,
                            2.5 + abs(draws.normal(0.5)), fuel, heat_c=8.0)
        if draws.uniform() < 0.8:  # digging, lifting, pushing
            return Activity(x, y, 0.0, heading, True, self._work_rpm + draws.normal(50),
                            self._rated_kw * draws.uniform(0.5, 0.9), draws.uniform(4, 11),
                            fuel, heat_c=10.0)
        return Activity(x, y, 0.0, heading, True, 850 + draws.normal(20),
                        self._rated_kw * draws.uniform(0.06, 0.14), draws.uniform(0.8, 2),
                        fuel, heat_c=6.0)

    def _where(self, day: int, plan: _WorkDay, t_ms: int) -> tuple[float, float, float, bool]:
        i = bisect.bisect_right(plan.move_at, t_ms) - 1
        before = self._day(day - 1).spots[-1]
        frm = plan.spots[i - 1] if i > 0 else before
        to = plan.spots[i] if i >= 0 else before
        a, b = self._spots[frm], self._spots[to]
        move_ms = math.dist(a, b) / (_CRAWL_KMH / 3.6) * 1000
        f = (t_ms - plan.move_at[i]) / move_ms if i >= 0 and move_ms > 0 else 1.0
        if f >= 1.0:
            return b[0], b[1], self._parked_heading[to], False
        heading = heading_deg(b[0] - a[0], b[1] - a[1])
        return a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), heading, True

    def _day(self, day: int) -> _WorkDay:
        plan = self._days.get(day)
        if plan is None:
            plan = self._days[day] = self._plan(day)
            for old in [d for d in self._days if d < day - 2]:
                del self._days[old]
        return plan

    def _plan(self, day: int) -> _WorkDay:
        rng = rng_for(self._seed, self._key, _SALT, day)
        m = day_start_ms(day)
        if weekday(day) == 6:
            hours = [(rng.uniform(7.5, 7.75), rng.uniform(11.0, 11.5)),
                     (rng.uniform(16.0, 16.5), rng.uniform(19.0, 19.5))]
        else:
            lunch = rng.uniform(11.5, 12.0)
            hours = [(rng.uniform(6.5, 7.0), lunch),
                     (lunch + rng.uniform(0.75, 1.0), rng.uniform(19.5, 20.0))]
        windows = tuple((m + int(a * HOUR_MS), m + int(b * HOUR_MS)) for a, b in hours)
        moves, spots, spot = [], [], int(rng.integers(len(self._spots)))
        for a, b in windows:
            moves.append(a)
            spots.append(spot)
            for hour_start in range(a - a % HOUR_MS + HOUR_MS, b, HOUR_MS):
                if rng.random() < 0.4:
                    spot = (spot + 1 + int(rng.integers(len(self._spots) - 1))) % len(self._spots)
                    moves.append(hour_start)
                    spots.append(spot)
        return _WorkDay(windows, tuple(moves), tuple(spots), float(rng.uniform(85, 98)))
