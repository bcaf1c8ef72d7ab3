"""Tell each lender when its collateral stops being watched, and when it is watched again.

A lender's system hears of every warning by webhook, so silence reads as
"all is well". It is not when a monitor worker has died: nothing raises
anything for its partitions' assets (``monitor.workers``). The webhook
dispatcher, which runs wherever lenders are told anything, checks the
workers' coverage every minute and sends ``platform.coverage_changed`` to a
lender whose watched assets went from all judged to some not (``state``
``unwatched``, with how many and which; told again if the unwatched
partitions change), or back (``watched``). A state must
hold for two checks in a row before it is told, so a worker restarting
between two checks is not news. Several dispatchers tell a change once:
the event id is made of what they all read alike (the lender, the state and
the workers with their states and start times), and the outbox keeps one
event per id; a later change has other workers' states, so another id.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.handoff import partition_of
from monitor.outbox import enqueue_event
from monitor.workers import Coverage, coverage, read_beats, unwatched_by_lender
from registry import Registry
from registry.db import as_utc, iso_z
from registry.models import OutboxEvent

__all__ = ["COVERAGE_EVENT", "CoverageWatch"]

log = logging.getLogger(__name__)

COVERAGE_EVENT = "platform.coverage_changed"
_LISTED = 100


@dataclass(slots=True)
class _Seen:
    state: str
    partitions: tuple[int, ...]  # the lender's assets' partitions no live worker judges
    checks: int  # consecutive checks it has held
    since: datetime

    def same(self, state: str, partitions: tuple[int, ...]) -> bool:
        return self.state == state and self.partitions == partitions


class CoverageWatch:
    """``check`` every ``every``; enqueue a lender's change once it held ``hold`` checks."""

    def __init__(self, registry: Registry, total_partitions: int, *,
                 every: timedelta = timedelta(seconds=60), hold: int = 2) -> None:
        if total_partitions < 1 or hold < 1 or every <= timedelta(0):
            raise ValueError("total_partitions and hold must be >= 1, every > 0")
        self.registry, self.total_partitions = registry, total_partitions
        self.every, self.hold = every, hold
        self._checked_at: datetime | None = None
        self._seen: dict[str, _Seen] = {}

    def maybe_check(self, now: datetime) -> list[str]:
        """``check`` if ``every`` has passed since the last one; the lenders told."""
        if self._checked_at is not None and now - self._checked_at < self.every:
            return []
        return self.check(now)

    def check(self, now: datetime) -> list[str]:
        self._checked_at = now
        told = []
        with self.registry.session() as session:
            report = coverage(read_beats(session), self.total_partitions, now)
            for lender_id, unwatched in unwatched_by_lender(session, report).items():
                state = "unwatched" if unwatched else "watched"
                parts = tuple(sorted({partition_of(a, self.total_partitions) for a in unwatched}))
                seen = self._seen.get(lender_id)
                if seen is None or not seen.same(state, parts):
                    seen = self._seen[lender_id] = _Seen(state, parts, 0, now)
                seen.checks += 1
                if seen.checks >= self.hold and self._tell(session, lender_id, seen, unwatched,
                                                           report):
                    told.append(lender_id)
        return told

    def _tell(self, session: Session, lender_id: str, seen: _Seen, unwatched: list[str],
              report: Coverage) -> bool:
        """Enqueue the change unless the lender was last told just this (the same state and,
        while unwatched, the same partitions: more of them going dark is news too)."""
        events = select(OutboxEvent).where(OutboxEvent.lender_id == lender_id,
                                           OutboxEvent.event_type == COVERAGE_EVENT)
        last = session.scalars(events.order_by(OutboxEvent.id.desc()).limit(1)).first()
        told: dict[str, Any] = (json.loads(last.payload)["data"] if last is not None
                                else {"state": "watched"})
        if seen.same(told["state"], tuple(told.get("partitions", ()))):
            return False
        since = as_utc(seen.since)
        enqueue_event(session, lender_id=lender_id, event_type=COVERAGE_EVENT,
                      data={"state": seen.state, "unwatched_assets": len(unwatched),
                            "asset_ids": unwatched[:_LISTED], "partitions": list(seen.partitions),
                            "since": iso_z(since)},
                      event_id=_event_id(lender_id, seen.state, report), occurred_at=since)
        log.warning("lender %s told its collateral is %s (%d assets not judged)", lender_id,
                    seen.state, len(unwatched))
        return True


def _event_id(lender_id: str, state: str, report: Coverage) -> str:
    """The same for every dispatcher that sees this change; another for any later change (a
    worker that dies or comes back has another state or start time)."""
    workers = sorted(f"{w.beat.client_id} {w.state} {w.beat.started_at}" for w in report.workers)
    digest = hashlib.sha256("\n".join([lender_id, state, *workers]).encode()).hexdigest()
    return f"coverage-{digest[:40]}"
