"""A streaming anomaly score for one sensor series, robust and adaptive.

The baseline is an exponentially weighted level and spread (mean absolute
deviation) updated with each value, in the style of a robust EWMA control
chart:

- each value is scored against the baseline *before* it learns from it,
  so a score depends only on values at and before it;
- the update is clipped at ``clip`` spreads, so one spike barely moves the
  baseline; a value beyond ``z0`` spreads updates it ``slow_factor`` times
  slower, so a sustained level shift is absorbed over hours while a fault
  (a ramp as much as a step) stays visible for a while;
- the short memory (``alpha`` ~ 20 values) follows a daily cycle closely
  enough that its swing lands inside the spread.

The score is ``e / (e + z0)`` where ``e = max(0, |z| - z0)`` and ``z`` is
the deviation in spreads: 0 within ``z0`` spreads, 0.5 at ``2 * z0``, and
approaching 1. ``direction`` +1 scores rises only (temperature, vibration).

>>> scorer = SeriesScorer(floor=0.5)
>>> state = scorer.initial()
>>> scores = [scorer.score_learn(state, 20.0 + (i % 3) * 0.2) for i in range(40)]
>>> max(scores), round(scorer.score_learn(state, 35.0), 2)
(0.0, 0.88)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SeriesScorer", "LoadScorer"]


@dataclass(frozen=True, slots=True)
class SeriesScorer:
    alpha: float = 0.05
    spread_alpha: float = 0.01  # slower: a ramp must not teach the spread it is normal
    slow_factor: float = 0.1
    z0: float = 3.0
    clip: float = 3.0
    warm: int = 12  # values before scoring starts
    floor: float = 1.0  # smallest spread, in the series' unit
    relative_floor: float = 0.03  # and as a fraction of the level
    direction: int = 0  # 0 both ways, +1 rises only

    @staticmethod
    def initial() -> list[float]:
        """State: [level, spread, count] as a plain list (JSON as it is)."""
        return [0.0, 0.0, 0.0]

    def score_learn(self, state: list[float], x: float) -> float:
        """Score ``x`` against the baseline in ``state``, then learn it (updates ``state``)."""
        level, spread, n = state
        if n == 0:
            state[0], state[2] = x, 1.0
            return 0.0
        scale = max(spread * 1.25, self.floor, self.relative_floor * abs(level))
        dev = x - level
        z = dev / scale if self.direction == 0 or dev * self.direction > 0 else 0.0
        excess = abs(z) - self.z0
        score = excess / (excess + self.z0) if excess > 0 and n >= self.warm else 0.0
        rate = self.alpha if excess <= 0 else self.alpha * self.slow_factor
        rate = max(rate, 1.0 / (n + 1))  # plain mean while young
        bound = self.clip * scale
        step = min(max(dev, -bound), bound)
        state[0] = level + rate * step
        spread_rate = max(rate * self.spread_alpha / self.alpha, 1.0 / (n + 1))
        state[1] = spread + spread_rate * (abs(step) - spread)
        state[2] = n + 1
        return score


@dataclass(frozen=True, slots=True)
class LoadScorer:
    """A slow drift detector: a series explained by the machine's load, watched by CUSUM.

    A machine's temperature and vibration follow its load (power draw): a
    plant runs cooler in the meal break and on a light weekend. This keeps
    an exponentially weighted regression of the series on the load (means,
    variance, covariance) and the robust spread of its residual; a fault is
    the residual creeping up at the same load, summed by a one-sided CUSUM
    (``k`` slack, in spreads, per reading) so a ramp over a day is caught as
    surely as a step. Values well above the fit teach it ``slow_factor``
    times slower, so a developing fault does not become the norm.

    State: [mean_x, mean_y, var_x, cov_xy, spread, count, cusum].

    >>> scorer = LoadScorer(floor=0.5)
    >>> state = scorer.initial()
    >>> for i in range(300):
    ...     load = 50.0 + 40.0 * (i % 7 == 0)  # a heavy hour now and then
    ...     _ = scorer.score_learn(state, load, 20.0 + 0.3 * load + (i % 3) * 0.2)
    >>> scorer.score_learn(state, 90.0, 47.5)  # heavy load, hot: as expected
    0.0
    >>> [round(scorer.score_learn(state, 50.0, 40.0), 2) for _ in range(4)]  # hot at light load
    [0.09, 0.16, 0.23, 0.28]
    """

    alpha: float = 0.05
    slow_factor: float = 0.05
    k: float = 2.5
    h: float = 40.0
    warm: int = 48
    floor: float = 0.5
    relative_floor: float = 0.02

    @staticmethod
    def initial() -> list[float]:
        return [0.0] * 7

    def score_learn(self, state: list[float], x: float, y: float, at: int = 0) -> float:
        """CUSUM as a score in [0, 1] (0.5 at ``h``), then learn (``state[at:at + 7]`` updated)."""
        # Runs twice per reading of a working machine: items are read and written one by
        # one (no slices, no lists), and min/max are spelt as comparisons that pick
        # exactly what the builtins would.
        n = state[at + 5]
        if n == 0:
            state[at:at + 6] = [x, y, 0.0, 0.0, 0.0, 1.0]
            return 0.0
        mx, my, vx, cxy = state[at], state[at + 1], state[at + 2], state[at + 3]
        spread = state[at + 4]
        beta = cxy / vx if vx > 1e-9 else 0.0
        resid = y - (my + beta * (x - mx))
        scale = spread * 1.25  # max(spread * 1.25, floor, relative_floor * |my|)
        if self.floor > scale:
            scale = self.floor
        if self.relative_floor * abs(my) > scale:
            scale = self.relative_floor * abs(my)
        z = resid / scale
        if n >= self.warm:
            # Capped so that a fault gone for good clears within ~1.5 h / k readings.
            cusum = state[at + 6] + z - self.k
            if not cusum > 0.0:
                cusum = 0.0
            if 1.5 * self.h < cusum:
                cusum = 1.5 * self.h
            state[at + 6] = cusum
        else:
            cusum = state[at + 6]
        rate = self.alpha * (self.slow_factor if z > 2.0 else 1.0)
        if 1.0 / (n + 1) > rate:
            rate = 1.0 / (n + 1)
        dx, dy = x - mx, y - my
        keep = 1 - rate
        off = abs(resid)
        if 3 * scale < off:
            off = 3 * scale
        state[at] = mx + rate * dx
        state[at + 1] = my + rate * dy
        state[at + 2] = keep * (vx + rate * dx * dx)
        state[at + 3] = keep * (cxy + rate * dx * dy)
        state[at + 4] = spread + rate * (off - spread)
        state[at + 5] = n + 1
        return cusum / (cusum + self.h)
