"""The monitor's device-time clock: "now" for tracker dark and hold-down expiry.

The newest device time seen (the high watermark) is not a safe "now" on its
own. Readings reach the monitor over many connections, and when one of them
stalls for a moment every asset on it looks silent to a clock that follows the
fastest one. So the clock waits ``grace_s`` of its own wall time for readings
still in flight before it lets a silence count, converted to device time at the
rate the watermark is advancing:

- in live operation device time runs at wall speed, and the grace is a few
  seconds, nothing next to a 30-minute dark limit;
- in an accelerated simulation or a replay of a backlog, device time runs
  hundreds of times faster, and so does the grace: a one-second stall at
  3600x is an hour of device time, which must not read as an hour of silence;
- the allowance never exceeds ``max_lag_ms``, so a runaway rate cannot hide
  a real outage for ever.

This uses the wall clock only to measure the pipeline's own delay, never to
judge an asset: every silence is still device time against device time.

>>> clock = FleetClock(grace_s=2.0)
>>> clock.advance(1_000_000, wall_s=0.0)
>>> clock.advance(1_000_000 + 60_000, wall_s=1.0)  # 60 s of device time per wall second
>>> clock.rate(), clock.lag_ms(), clock.now_ms()
(60.0, 120000, 940000)
"""

from __future__ import annotations

import time
from collections import deque

__all__ = ["FleetClock"]


class FleetClock:
    def __init__(self, grace_s: float = 2.0, max_lag_ms: int = 6 * 3_600_000,
                 window_s: float = 30.0) -> None:
        if grace_s < 0 or max_lag_ms < 0 or window_s <= 0:
            raise ValueError("grace_s and max_lag_ms must not be negative; window_s must be > 0")
        self.grace_s, self.max_lag_ms, self.window_s = grace_s, max_lag_ms, window_s
        self.high_ms = 0
        self._samples: deque[tuple[float, int]] = deque()  # (wall s, high ms) when high moved

    def advance(self, ts_ms: int, wall_s: float | None = None) -> None:
        """A reading with device time ``ts_ms`` arrived (at monotonic ``wall_s``)."""
        if ts_ms <= self.high_ms:
            return
        self.high_ms = ts_ms
        wall = time.monotonic() if wall_s is None else wall_s
        samples = self._samples
        if samples and wall - samples[-1][0] < 0.05:
            samples[-1] = (samples[-1][0], ts_ms)  # one sample per 50 ms is plenty
        else:
            samples.append((wall, ts_ms))
        while len(samples) > 2 and wall - samples[1][0] > self.window_s:
            samples.popleft()

    def rate(self) -> float:
        """Device seconds per wall second over the recent window; never below 1."""
        if len(self._samples) < 2:
            return 1.0
        (w0, h0), (w1, h1) = self._samples[0], self._samples[-1]
        if w1 <= w0:
            return 1.0
        return max(1.0, (h1 - h0) / 1000.0 / (w1 - w0))

    def lag_ms(self) -> int:
        """How far "now" stays behind the watermark to wait for readings in flight."""
        return min(int(self.grace_s * self.rate() * 1000), self.max_lag_ms)

    def now_ms(self) -> int:
        return max(self.high_ms - self.lag_ms(), 0) if self.high_ms else 0

    def restore(self, high_ms: int) -> None:
        """Resume after a restart: the watermark survives, the rate is measured anew."""
        self.high_ms = max(self.high_ms, high_ms)
