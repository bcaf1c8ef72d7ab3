"""Make a batch of points durable: in the store, or else in the local spool.

``DurableWriter.write`` returns only once the points are durable (or refused
by the store as bad data); until then the caller must not acknowledge them.
While the spool holds anything, new batches go behind it, so the store sees
every device's points in the order they were acknowledged. When the spool is
full, ``write`` keeps retrying the store and does not return: ingest stops
acknowledging and the broker holds the backlog.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.metrics import IngestMetrics
from ingest.spool import Spool
from ingest.store import Point, StoreError, StoreUnavailable, TelemetryStore

__all__ = ["DurableWriter", "Outcome", "RefusedHandler"]

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 5.0
_REPLAY_SLICE_S = 0.5  # replay at most this long between batches, so reading goes on


#: Called with points the store refused as bad data (never retried) and its reason.
RefusedHandler = Callable[[Sequence[Point], str], None]


@dataclass(frozen=True, slots=True)
class Outcome:
    spooled: bool = False  # in the spool, not yet in the store
    refused: str | None = None  # the store refused the batch as bad data: why


class DurableWriter:
    def __init__(self, store: TelemetryStore, spool: Spool, metrics: IngestMetrics,
                 on_refused: RefusedHandler, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store, self.spool, self.metrics = store, spool, metrics
        self._on_refused = on_refused
        self._sleep = sleep
        self._backoff = 0.0
        self._retry_at = 0.0  # monotonic time of the next attempt while the store is down
        self._full_logged = False
        self._publish_spool()

    @property
    def store_down(self) -> bool:
        return self._backoff > 0

    def write(self, points: Sequence[Point]) -> Outcome:
        """Block until ``points`` are stored, spooled, or refused by the store as bad data."""
        while True:
            self.replay()
            due = time.monotonic() >= self._retry_at
            if self.spool.empty and (not self.store_down or due):
                stored = self._try_store(points)
                if stored is not None:
                    return Outcome(refused=stored or None)
            if self.spool.append(points):
                self.metrics.spooled.inc(len(points))
                self.metrics.spool_full.set(0)
                self._publish_spool()
                self._full_logged = False
                return Outcome(spooled=True)
            self._wait_full()

    def replay(self) -> None:
        """Move spooled batches to the store, oldest first, while it takes them."""
        if self.spool.empty or time.monotonic() < self._retry_at:
            return
        deadline = time.monotonic() + _REPLAY_SLICE_S
        while not self.spool.empty and time.monotonic() < deadline:
            points = self.spool.peek()
            assert points is not None
            refused = self._try_store(points)
            if refused is None:
                return
            if refused:
                self._on_refused(points, refused)
            self.spool.pop()
            self._publish_spool()
        if self.spool.empty:
            log.info("spool replayed: the store has everything again")

    def _try_store(self, points: Sequence[Point]) -> str | None:
        """None while the store is down; else "" when it has the points, or why it refused."""
        started = time.perf_counter()
        try:
            self.store.write(points)
        except StoreUnavailable as exc:
            self._backoff = min(max(self._backoff * 2, 0.25), _MAX_BACKOFF_S)
            self._retry_at = time.monotonic() + self._backoff
            log.warning("store unavailable (%s); spooling, next try in %.2f s", exc,
                        self._backoff)
            return None
        except StoreError as exc:
            log.error("store refused a batch of %d points: %s", len(points), exc)
            refused = str(exc)[:500] or type(exc).__name__
        else:
            refused = ""
            self.metrics.stored.inc(len(points))
            self.metrics.write_seconds.observe(time.perf_counter() - started)
        if self._backoff:
            log.info("store reachable again")
        self._backoff, self._retry_at = 0.0, 0.0
        return refused

    def _wait_full(self) -> None:
        self.metrics.spool_full.set(1)
        if not self._full_logged:
            log.error("spool full (%d bytes, %d readings): not acknowledging; the broker keeps "
                      "the backlog until the store is back", self.spool.size_bytes,
                      self.spool.depth)
            self._full_logged = True
        self._sleep(max(0.0, self._retry_at - time.monotonic()))
        self._retry_at = 0.0  # the next replay() tries now

    def _publish_spool(self) -> None:
        self.metrics.spool_depth.set(self.spool.depth)
        self.metrics.spool_bytes.set(self.spool.size_bytes)
        if self.spool.empty:
            self.metrics.spool_full.set(0)
