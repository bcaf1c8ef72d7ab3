"""An asset's own seasonal utilisation baseline, and a CUSUM on falling short of it.

Activity is counted per local hour (the hour at the asset's longitude, so a
night shift is a night shift). Each closed hour's share of active readings
is compared with the asset's learned profile for that hour of a weekday or
a weekend day (48 buckets, exponentially weighted over days); in its usual
working hours the shortfall beyond a slack ``k`` is summed by a one-sided
CUSUM (Page, 1954). A machine
that stops is caught within a few working hours; one whose working hours
fade out over days is caught as the shortfall adds up. A bucket counts only
once it has been seen ``warm`` times; hours far short of the profile teach
it ten times slower, so a decline does not become the norm.

State is one flat list of floats: [hour, active, count, cusum, 48 profile
values, 48 counts].

>>> base, state = UtilisationBaseline(), UtilisationBaseline.initial()
>>> t0, hour = 1_764_547_200_000, 3_600_000
>>> for h in range(24 * 14):  # two weeks working 08-18 local, then it stops
...     working = 8 <= (h + 8) % 24 < 18 and h < 24 * 12
...     for m in range(0, 60, 10):
...         base.observe(state, t0 + h * hour + m * 60_000, working, lon=120.0)
>>> round(base.cusum(state), 1) >= base.h
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["UtilisationBaseline"]

_HOUR_MS = 3_600_000
_BUCKETS = 48
_HEAD = 4  # hour, active, count, cusum


@dataclass(frozen=True, slots=True)
class UtilisationBaseline:
    alpha: float = 0.3  # weight of the newest day in a bucket's profile
    k: float = 0.1  # slack per working hour, as a share of the hour
    working: float = 0.25  # an hour counts when the profile expects at least this share
    h: float = 4.0  # alarm level: four full working hours short, beyond the slack
    warm: int = 2

    @staticmethod
    def initial() -> list[float]:
        return [-1.0, 0.0, 0.0, 0.0] + [0.0] * (2 * _BUCKETS)

    @staticmethod
    def cusum(state: list[float]) -> float:
        return state[3]

    def observe(self, state: list[float], ts_ms: int, active: bool, lon: float) -> None:
        """Count one reading with activity evidence (in device-time order)."""
        hour = (ts_ms + round(lon / 15.0) * _HOUR_MS) // _HOUR_MS
        if hour != state[0]:
            if state[0] >= 0 and state[2] > 0:
                self._close(state, int(state[0]), state[1] / state[2])
            state[0], state[1], state[2] = float(hour), 0.0, 0.0
        state[1] += active
        state[2] += 1.0

    def skip_hour(self, state: list[float]) -> None:
        """Forget the open hour (planned downtime: neither evidence nor lesson)."""
        state[1] = state[2] = 0.0

    def reset(self, state: list[float]) -> None:
        state[3] = 0.0

    def _close(self, state: list[float], hour: int, share: float) -> None:
        day = hour // 24
        weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        b = (_BUCKETS // 2 if weekend else 0) + hour % 24
        expected, seen = state[_HEAD + b], state[_HEAD + _BUCKETS + b]
        short = expected - share
        if seen >= self.warm and expected >= self.working:
            state[3] = max(0.0, state[3] + short - self.k)
        rate = 1.0 / (seen + 1) if seen < 1 / self.alpha else self.alpha
        if seen >= self.warm and short > 0.5:
            rate *= 0.1
        state[_HEAD + b] = expected + rate * (share - expected)
        state[_HEAD + _BUCKETS + b] = seen + 1
