"""Fuel storage tanks at filling stations: the level falls with sales and jumps with deliveries.

The station opens 06:00-06:30 and closes 22:30-23:00 local (its pumps are
the "ignition": on while open). Sales follow the traffic (a morning and an
evening rush, ~20-35% of the tank a day); when the level drops below 25-35%
during 07:00-18:00 a road tanker delivers 50-60% of the tank over 40
minutes. At night the level is flat: a drop then is theft, not trade.
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
)

__all__ = ["Tank", "sales_share"]

_SALT = 0x7A4C
_DELIVERY_MS = 40 * 60_000


def sales_share(hour: float) -> float:
    """Relative sales rate at a local hour (mean ~1 over the opening hours).

    >>> sales_share(8.0) > sales_share(18.0) > sales_share(13.0)
    True
    """
    return 0.55 + 0.9 * math.exp(-(((hour - 8.0) / 1.5) ** 2)) + 0.8 * math.exp(
        -(((hour - 18.0) / 1.8) ** 2))


class Tank:
    mobile = False

    def __init__(self, asset_id: str, site: dict[str, Any], seed: int) -> None:
        self._seed, self._key = seed, key_of(asset_id)
        rng = rng_for(seed, self._key, _SALT)
        self._xy = (float(rng.normal(0, 5)), float(rng.normal(0, 5)))
        self._daily = float(rng.uniform(20, 35))  # % of the tank sold on a day
        self._trigger = float(rng.uniform(25, 35))
        self._level = float(rng.uniform(40, 90))
        self._delivery: tuple[int, float] | None = None  # (start, amount %)
        self._delivered = 0.0
        self._last_ms: int | None = None
        self._hours = DailyHours(seed, self._key, _SALT, (6.0, 6.5), (22.5, 23.0))

    def activity_at(self, t_ms: int, draws: Draws) -> Activity:
        open_h, close_h = self._hours(local_day(t_ms))
        hour = local_hour(t_ms)
        is_open = open_h <= hour < close_h
        self._advance(t_ms, hour, is_open, draws)
        x, y = self._xy
        if not is_open:
            return Activity(x, y, 0.0, 0.0, False, None, 0.0, None, self._level)
        pumps = 0.75 * (1 + int(sales_share(hour) * 2 * draws.uniform()))
        return Activity(x, y, 0.0, 0.0, True, None, pumps, None, self._level, heat_c=1.0)

    def _advance(self, t_ms: int, hour: float, is_open: bool, draws: Draws) -> None:
        last, self._last_ms = self._last_ms, t_ms
        if last is None:
            return
        hours = (t_ms - last) / HOUR_MS
        if is_open:
            rate = self._daily / 17.0 * sales_share(hour) * (1 + draws.normal(0.15))
            self._level = max(self._level - max(rate, 0.0) * hours, 2.0)
        if self._delivery is None and is_open and 7.0 <= hour < 18.0 and \
                self._level < self._trigger:
            self._delivery = (t_ms, float(55 + 5 * draws.uniform(-1, 1)))
        if self._delivery is not None:
            start, amount = self._delivery
            so_far = amount * min(1.0, (t_ms - start) / _DELIVERY_MS)
            self._level = min(self._level + so_far - self._delivered, 98.0)
            self._delivered = so_far
            if so_far >= amount:
                self._delivery, self._delivered = None, 0.0
