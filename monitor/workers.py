"""Who watches the watchers: which hand-off partitions a live monitor worker judges.

Every asset belongs to one of the deployment's hand-off partitions, and each
monitor worker judges the partitions it was given. A worker that dies, or a
partition no worker was given, leaves its assets unwatched, and nothing in
the detectors can say so: a tracker going dark is raised by the monitor's
own clock. So each worker records its partitions and a heartbeat
(``record_beat``, at start, with each checkpoint and at a clean stop), and
``coverage`` tells from those rows which partitions are watched now.

A worker is live while its last beat is younger than three of its own
checkpoint intervals (plus half a minute for a slow registry); a worker
whose beats stopped, or that stopped cleanly, watches nothing.

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
>>> rows = [WorkerBeat("m1", (0, 1), 4, 30.0, now - timedelta(seconds=20), None),
...         WorkerBeat("m2", (2, 3), 4, 30.0, now - timedelta(minutes=10), None)]
>>> report = coverage(rows, 4, now)
>>> report.status, report.unwatched, [w.state for w in report.workers]
('degraded', (2, 3), ['live', 'silent'])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.handoff import partition_of
from registry.db import as_utc
from registry.models import Asset, Loan, LoanStatus, MonitorWorker

__all__ = ["Coverage", "WorkerBeat", "WorkerStatus", "coverage", "read_beats", "record_beat",
           "unwatched_by_lender"]

#: A worker is silent once this many of its checkpoint intervals pass without a beat.
SILENT_AFTER_CHECKPOINTS = 3.0
SILENT_GRACE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """What a worker last recorded (a ``monitor_workers`` row, as plain data)."""

    client_id: str
    partitions: tuple[int, ...]
    total_partitions: int
    checkpoint_s: float
    seen_at: datetime
    stopped_at: datetime | None
    started_at: datetime | None = None
    watermark_ms: int = 0  # the newest device time it had judged


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    beat: WorkerBeat
    #: live; silent (no beat for too long: crashed, hung or cut off); stopped (cleanly);
    #: mismatch (counts a different number of partitions than this deployment)
    state: str


@dataclass(frozen=True, slots=True)
class Coverage:
    total_partitions: int
    workers: tuple[WorkerStatus, ...]
    unwatched: tuple[int, ...]  # partitions no live worker judges
    doubled: tuple[int, ...]  # judged by two live workers: each raises its own alerts
    #: ok; degraded (some partitions unwatched or doubled); down (none watched)
    status: str

    def watches(self, partition: int) -> bool:
        return partition not in self.unwatched


def coverage(beats: Iterable[WorkerBeat], total_partitions: int, now: datetime) -> Coverage:
    """Which of ``total_partitions`` partitions a live worker judges at ``now``."""
    workers, claims = [], Counter[int]()
    for beat in sorted(beats, key=lambda b: b.client_id):
        state = _state(beat, total_partitions, now)
        workers.append(WorkerStatus(beat, state))
        if state == "live":
            claims.update(set(beat.partitions))
    unwatched = tuple(p for p in range(total_partitions) if not claims[p])
    doubled = tuple(sorted(p for p, n in claims.items() if n > 1))
    status = ("down" if len(unwatched) == total_partitions
              else "degraded" if unwatched or doubled else "ok")
    return Coverage(total_partitions, tuple(workers), unwatched, doubled, status)


def _state(beat: WorkerBeat, total_partitions: int, now: datetime) -> str:
    if beat.stopped_at is not None:
        return "stopped"
    if beat.total_partitions != total_partitions:
        return "mismatch"
    quiet = as_utc(now) - as_utc(beat.seen_at)
    allowed = timedelta(seconds=SILENT_AFTER_CHECKPOINTS * beat.checkpoint_s) + SILENT_GRACE
    return "live" if quiet <= allowed else "silent"


def unwatched_by_lender(session: Session, report: Coverage,
                        lenders: frozenset[str] | None = None) -> dict[str, list[str]]:
    """Each lender with watched assets (active loans; only ``lenders`` unless None), and
    those of its assets in partitions no live worker judges, by id."""
    statement = (select(Asset.id, Loan.lender_id).join(Loan, Asset.loan_id == Loan.id)
                 .where(Loan.status == LoanStatus.ACTIVE).order_by(Asset.id))
    if lenders is not None:
        statement = statement.where(Loan.lender_id.in_(lenders))
    by_lender: dict[str, list[str]] = {}
    for asset_id, lender_id in session.execute(statement):
        mine = by_lender.setdefault(lender_id, [])
        if not report.watches(partition_of(asset_id, report.total_partitions)):
            mine.append(asset_id)
    return by_lender


def read_beats(session: Session) -> list[WorkerBeat]:
    return [WorkerBeat(r.client_id, tuple(int(p) for p in r.partitions), r.total_partitions,
                       r.checkpoint_s, as_utc(r.seen_at),
                       None if r.stopped_at is None else as_utc(r.stopped_at),
                       as_utc(r.started_at), r.watermark_ms)
            for r in session.scalars(select(MonitorWorker))]


def record_beat(session: Session, client_id: str, partitions: Sequence[int],
                total_partitions: int, checkpoint_s: float, watermark_ms: int,
                readings_seen: int, now: datetime, *, starting: bool = False,
                stopping: bool = False) -> None:
    """Say (in ``session``'s transaction) that ``client_id`` judges ``partitions`` at ``now``."""
    row = session.get(MonitorWorker, client_id)
    if row is None:
        row = MonitorWorker(client_id=client_id, started_at=now)
        session.add(row)
    if starting:
        row.started_at = now
    row.partitions = sorted(partitions)
    row.total_partitions, row.checkpoint_s = total_partitions, checkpoint_s
    row.watermark_ms, row.readings_seen = watermark_ms, readings_seen
    row.seen_at, row.stopped_at = now, now if stopping else None
