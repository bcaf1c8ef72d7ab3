"""Grid and generator equipment: a fixed generating set whose load follows demand.

A peaking genset (or a prime-power set at a site with a weak grid): it
starts at 05:45-06:15 local, follows the day's demand (a morning and an
evening peak, weekends ~70%) and stops at 23:15-23:45 when demand is low,
so its longest rest (~7 h) is far inside the idle threshold. It runs at a
synchronous 1,500 rpm; power, vibration and heat rise with load; the day
tank drains with the fuel burnt and is topped up from 30% to 90%.
"""

from __future__ import annotations

import math
from typing import Any

from devices.kinds.base import (
    HOUR_MS,
    Activity,
    DailyHours,
    Draws,
    key_of,
    local_day,
    local_hour,
    rng_for,
    weekday,
)

__all__ = ["Grid", "demand"]

_SALT = 0x6E1D


def demand(hour: float, weekend: bool) -> float:
    """Share of rated power the demand asks for at a local hour.

    >>> round(demand(9.5, False), 2), round(demand(14.0, False), 2), round(demand(19.5, True), 2)
    (0.84, 0.6, 0.62)
    """
    base = 0.45 + 0.15 * math.sin(math.pi * (hour - 6.0) / 17.0)
    peaks = 0.3 * math.exp(-(((hour - 9.5) / 1.5) ** 2)) + 0.35 * math.exp(
        -(((hour - 19.5) / 1.5) ** 2))
    return (base + peaks) * (0.7 if weekend else 1.0)


class Grid:
    mobile = False

    def __init__(self, asset_id: str, site: dict[str, Any], seed: int) -> None:
        self._seed, self._key = seed, key_of(asset_id)
        rng = rng_for(seed, self._key, _SALT)
        self._xy = (float(rng.normal(0, 6)), float(rng.normal(0, 6)))
        self._heading = float(rng.uniform(0, 360))
        self._rated_kw = float(rng.uniform(400, 2500))
        self._burn = float(rng.uniform(5.0, 8.0))  # % of the day tank per hour at full load
        self._fuel = float(rng.uniform(50, 90))
        self._last_ms: int | None = None
        self._hours = DailyHours(seed, self._key, _SALT, (5.75, 6.25), (23.25, 23.75))

    def activity_at(self, t_ms: int, draws: Draws) -> Activity:
        day = local_day(t_ms)
        start_h, stop_h = self._hours(day)
        hour = local_hour(t_ms)
        running = start_h <= hour < stop_h
        load = min(max(demand(hour, weekday(day) >= 5) * (1 + draws.normal(0.04)), 0.1), 1.05)
        self._drain(t_ms, load if running else 0.0)
        x, y = self._xy
        if not running:
            return Activity(x, y, 0.0, self._heading, False, 0.0, 0.0,
                            abs(draws.normal(0.02)), self._fuel)
        return Activity(x, y, 0.0, self._heading, True, 1500 + draws.normal(3),
                        self._rated_kw * load, 1.8 + 2.5 * load + abs(draws.normal(0.2)),
                        self._fuel, heat_c=12.0 + 30.0 * load)

    def _drain(self, t_ms: int, load: float) -> None:
        if self._last_ms is not None:
            self._fuel -= self._burn * load * (t_ms - self._last_ms) / HOUR_MS
            if self._fuel < 30.0:  # the day tank is topped up from the bulk tank
                self._fuel = 90.0
        self._last_ms = t_ms
