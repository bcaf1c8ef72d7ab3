"""Plant machines: fixed in place, two shifts a day (06:00-22:00 local).

Load follows the shifts (meal breaks, the 14:00 hand-over); weekends run
the same hours at ~55% load, so the machine is never down more than ~8.5 h.
Off shift it draws standby power (controls, heaters), never exactly zero.
"""

from __future__ import annotations

from typing import Any

from devices.kinds.base import (
    Activity,
    DailyHours,
    Draws,
    key_of,
    local_day,
    local_hour,
    rng_for,
    weekday,
)

__all__ = ["Plant", "shift_load"]

_SALT = 0x91A7


def shift_load(hour: float, start_h: float, end_h: float, first: float, second: float) -> float:
    """Share of rated power at a local hour, before noise; 0 outside the shifts.

    >>> shift_load(10.0, 6.0, 22.0, 0.85, 0.8), shift_load(14.1, 6.0, 22.0, 0.85, 0.8)
    (0.85, 0.3)
    >>> shift_load(3.0, 6.0, 22.0, 0.85, 0.8)
    0.0
    """
    if not start_h <= hour < end_h:
        return 0.0
    if hour < start_h + 1 / 3:  # warming up
        return 0.15 + (first - 0.15) * (hour - start_h) * 3
    if end_h - 0.25 <= hour:  # winding down
        return 0.3
    if 11.75 <= hour < 12.25 or 17.75 <= hour < 18.25:  # meal breaks
        return 0.5
    if 14.0 <= hour < 14.25:  # shift hand-over
        return 0.3
    return first if hour < 14.0 else second


class Plant:
    mobile = False

    def __init__(self, asset_id: str, site: dict[str, Any], seed: int) -> None:
        self._seed, self._key = seed, key_of(asset_id)
        rng = rng_for(seed, self._key, _SALT)
        self._xy = (float(rng.normal(0, 8)), float(rng.normal(0, 8)))  # where it is bolted down
        self._heading = float(rng.uniform(0, 360))
        self._rated_kw = float(rng.uniform(55, 800))
        self._standby = float(rng.uniform(0.03, 0.06))
        self._loads = (float(rng.uniform(0.78, 0.9)), float(rng.uniform(0.7, 0.84)))
        self._hours = DailyHours(seed, self._key, _SALT, (5.9, 6.1), (21.9, 22.2))

    def activity_at(self, t_ms: int, draws: Draws) -> Activity:
        day = local_day(t_ms)
        start_h, end_h = self._hours(day)
        shape = shift_load(local_hour(t_ms), start_h, end_h, *self._loads)
        x, y = self._xy
        if shape == 0.0:
            standby = self._rated_kw * self._standby * (1 + draws.normal(0.1))
            return Activity(x, y, 0.0, self._heading, False, 0.0, max(standby, 0.1),
                            0.1 + abs(draws.normal(0.05)), heat_c=4.0)
        weekend = 0.55 if weekday(day) >= 5 else 1.0
        load = min(max(shape * weekend * (1 + draws.normal(0.05)), 0.05), 1.1)
        return Activity(x, y, 0.0, self._heading, True, 1490 - 15 * load + draws.normal(2),
                        self._rated_kw * load, 1.5 + 4 * load + abs(draws.normal(0.3)),
                        heat_c=8.0 + 35.0 * load)
