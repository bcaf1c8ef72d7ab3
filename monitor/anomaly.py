"""Streaming anomaly scores for a machine's sensor series, robust and adaptive.

``LoadScorer`` explains a series (temperature, vibration) by the machine's
load (power draw, engine rpm) with an exponentially weighted regression and
sums the residual's rises with a CUSUM; ``FaultScorer`` runs two of them, a
fast fit that follows the weather's daily swing and catches a sudden fault
and a slow one that catches a fault ramping up slowly enough for the fast
fit to follow it. Each value is scored against the fits *before* they learn
from it, so a score depends only on values at and before it; values well
above the fit teach it slowly, so a developing fault does not become the
norm, while a level that falls (a machine moved into a cold store) is
learnt at once. The equipment-fault detector and ``collateral
score-series`` both score with ``FaultScorer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["FAULT_WIDTH", "FaultScorer", "LOAD_WIDTH", "LoadScorer", "SLOW_ALPHA", "SLOW_WARM"]

#: Floats of state of one LoadScorer (see its docstring).
LOAD_WIDTH: Final = 7

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
        return [0.0] * LOAD_WIDTH

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


#: Floats of state of one FaultScorer: the fast fit's, then the slow fit's.
FAULT_WIDTH: Final = 2 * LOAD_WIDTH

#: The slow fit: about 17 hours of running at 5-minute readings, warmed up over a day of it
#: so that its spread has seen the weather's daily swing.
SLOW_ALPHA, SLOW_WARM = 0.005, 288


@dataclass(frozen=True, slots=True)
class FaultScorer:
    """A series' fast and slow ``LoadScorer``; the score is the larger of the two.

    State: the fast fit's 7 floats, then the slow fit's (``FAULT_WIDTH`` in all).

    >>> scorer = FaultScorer.for_series(floor=2.0)
    >>> state = [0.0] * FAULT_WIDTH
    >>> for i in range(600):  # 50 hours at a steady load, then 35 C hotter over 11 hours
    ...     heat = 35.0 * min(1.0, max(0, i - 468) / 132)
    ...     score = scorer.score_learn(state, 600.0, 50.0 + (i % 5) * 0.3 + heat)
    ...     if score >= 0.5: break
    >>> i, round(heat, 1)  # raised 12 C up, under 4 hours into the ramp
    (513, 11.9)
    """

    fast: LoadScorer
    slow: LoadScorer

    @classmethod
    def for_series(cls, floor: float, relative_floor: float = 0.02) -> FaultScorer:
        """The pair for a series whose smallest meaningful spread is ``floor`` (its unit)
        or ``relative_floor`` of its level."""
        return cls(LoadScorer(floor=floor, relative_floor=relative_floor),
                   LoadScorer(alpha=SLOW_ALPHA, warm=SLOW_WARM, floor=floor,
                              relative_floor=relative_floor))

    def score_learn(self, state: list[float], x: float, y: float, at: int = 0) -> float:
        """The larger CUSUM score of the two fits, then learn (``state[at:at +
        FAULT_WIDTH]``)."""
        fast = self.fast.score_learn(state, x, y, at)
        slow = self.slow.score_learn(state, x, y, at + LOAD_WIDTH)
        return slow if slow > fast else fast
