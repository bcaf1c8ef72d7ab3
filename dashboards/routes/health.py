"""GET /healthz: can this process reach the registry and the telemetry store?"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dashboards.deps import RegistryDep, StoreDep
from dashboards.schemas import HealthPublic
from ingest.store import TelemetryStore
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
