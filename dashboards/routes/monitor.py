"""GET /api/monitor/coverage: is every watched asset being judged by a live monitor worker?

A dead monitor worker raises nothing, not even "tracker dark": its partitions'
assets go unwatched in silence. The workers' beats (``monitor.workers``) say
which partitions a live worker judges; this counts the caller's watched assets
that fall in the others.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlalchemy.orm import Session

from dashboards.auth import Principal, PrincipalDep
from dashboards.deps import ContextDep, SessionDep
from dashboards.schemas import MonitorCoveragePublic, MonitorWorkerPublic
from monitor.workers import coverage, read_beats, unwatched_by_lender
from registry.db import iso_ms

__all__ = ["router", "coverage_note", "monitor_coverage"]

router = APIRouter(prefix="/monitor", tags=["monitor"])

_LISTED = 100


@router.get("/coverage", response_model=MonitorCoveragePublic)
def read_coverage(session: SessionDep, principal: PrincipalDep,
                  context: ContextDep) -> MonitorCoveragePublic:
    return monitor_coverage(session, principal, context.options.total_partitions, context.now())


def monitor_coverage(session: Session, principal: Principal, total_partitions: int,
                     now: datetime) -> MonitorCoveragePublic:
    report = coverage(read_beats(session), total_partitions, now)
    unwatched: list[str] = []
    if report.unwatched:
        unwatched = sorted(a for ids in unwatched_by_lender(session, report,
                                                            principal.lenders).values()
                           for a in ids)
    return MonitorCoveragePublic(
        status=report.status, total_partitions=total_partitions,
        unwatched_partitions=list(report.unwatched), doubled_partitions=list(report.doubled),
        unwatched_assets=len(unwatched), unwatched_asset_ids=unwatched[:_LISTED],
        workers=[MonitorWorkerPublic(client_id=w.beat.client_id, partitions=list(w.beat.partitions),
                                     state=w.state, seen_at=w.beat.seen_at,
                                     watermark_at=iso_ms(w.beat.watermark_ms or None))
                 for w in report.workers])


def coverage_note(report: MonitorCoveragePublic) -> str | None:
    """What the dashboard says when the monitor does not watch everything; None when it does.

    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    >>> gone = MonitorWorkerPublic(client_id="m2", partitions=[2, 3], state="silent", seen_at=at,
    ...                            watermark_at=None)
    >>> print(coverage_note(MonitorCoveragePublic(
    ...     status="degraded", total_partitions=4, unwatched_partitions=[2, 3],
    ...     doubled_partitions=[], unwatched_assets=1, unwatched_asset_ids=["a9"], workers=[gone])))
    Monitor degraded: partitions 2, 3 have no live worker (m2 silent since 2026-11-29 12:00:00
    UTC). 1 watched asset of yours is not being judged: no alert is raised for it.
    """
    if report.status == "ok":
        return None
    if not report.workers:
        return "No monitor worker has ever reported: no alert is being raised."
    parts = []
    if report.unwatched_partitions:
        gone = ", ".join(f"{w.client_id} {w.state} since {w.seen_at:%Y-%m-%d %H:%M:%S} UTC"
                         for w in report.workers if w.state != "live")
        which = ("no partition has a live worker" if report.status == "down" else
                 f"{_partitions(report.unwatched_partitions, 'has', 'have')} no live worker")
        parts.append(which + (f" ({gone})" if gone else ""))
    if report.doubled_partitions:
        parts.append(f"{_partitions(report.doubled_partitions, 'is', 'are')} judged by two "
                     "live workers (alerts raised twice)")
    note = f"Monitor {report.status}: " + "; ".join(parts) + "."
    n = report.unwatched_assets
    if n:
        note += (f" {n} watched asset{'s' if n != 1 else ''} of yours "
                 f"{'are' if n != 1 else 'is'} not being judged: no alert is raised for "
                 f"{'them' if n != 1 else 'it'}.")
    return note


def _partitions(partitions: list[int], one: str, many: str) -> str:
    listed = ", ".join(str(p) for p in partitions)
    return f"partition {listed} {one}" if len(partitions) == 1 else f"partitions {listed} {many}"
