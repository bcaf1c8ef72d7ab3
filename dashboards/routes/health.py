"""GET /healthz: can this process reach the registry and the telemetry store?
GET /healthz/monitor: does a live monitor worker judge every partition?"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dashboards.deps import ContextDep, RegistryDep, SessionDep, StoreDep
from dashboards.schemas import HealthPublic, MonitorHealthPublic
from ingest.store import TelemetryStore
from monitor.workers import coverage, read_beats
from registry import Registry

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic,
            responses={503: {"model": HealthPublic, "description": "a dependency is down"}})
def read_health(registry: RegistryDep, store: StoreDep, response: Response) -> HealthPublic:
    parts = {"registry": _registry_state(registry), "store": _store_state(store)}
    healthy = all(state == "ok" for state in parts.values())
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthPublic(status="ok" if healthy else "unavailable", **parts)


@router.get("/healthz/monitor", response_model=MonitorHealthPublic,
            responses={503: {"model": MonitorHealthPublic,
                             "description": "some partitions have no live monitor worker"}})
def read_monitor_health(session: SessionDep, context: ContextDep,
                        response: Response) -> MonitorHealthPublic:
    """For an uptime checker: 503 unless every partition has one live worker (the API's
    ``/api/monitor/coverage`` says which, and whose assets; this needs no token and says
    only how many)."""
    report = coverage(read_beats(session), context.options.total_partitions, context.now())
    if report.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return MonitorHealthPublic(
        status=report.status, total_partitions=report.total_partitions,
        unwatched_partitions=len(report.unwatched), doubled_partitions=len(report.doubled),
        live_workers=sum(w.state == "live" for w in report.workers))


def _registry_state(registry: Registry) -> str:
    try:
        with registry.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health: registry unreachable: %s", type(exc).__name__)
        return "unreachable"
    return "ok"


def _store_state(store: TelemetryStore) -> str:
    try:
        reachable = store.ping()
    except Exception as exc:  # a probe must answer, whatever the back end raises
        log.warning("health: store ping failed: %s", type(exc).__name__)
        reachable = False
    return "ok" if reachable else "unreachable"
