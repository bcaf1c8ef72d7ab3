"""The dashboards' FastAPI app: the registry API for lenders and risk teams, and one page.

Every ``/api`` route needs an API token; what a caller sees is limited to its
lenders (``dashboards.auth``). Errors are RFC 9457 problem details.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, FastAPI

from dashboards.deps import ApiOptions, AppContext
from dashboards.limits import BodyLimit
from dashboards.problems import add_problem_handlers
from dashboards.routes import (
    alerts,
    assets,
    borrowers,
    deadletters,
    devices,
    health,
    lenders,
    loans,
    monitor,
    pages,
    pledges,
    users,
)
from ingest.store import TelemetryStore
from registry import Registry

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(registry: Registry, store: TelemetryStore, *,
               now_ms: Callable[[], int] | None = None,
               options: ApiOptions | None = None) -> FastAPI:
    """The app over ``registry`` and ``store``; ``now_ms`` is the wall clock unless given."""
    options = options or ApiOptions()
    app = FastAPI(
        title="collateral-watch",
        version=_version(),
        description="Lenders, borrowers, loans, pledged assets and their devices; telemetry, "
                    "alerts and loan warning levels. Send `Authorization: Bearer <token>`.",
        docs_url="/docs",
    )
    app.state.context = AppContext(registry, store, now_ms or _wall_clock_ms, options)
    api = APIRouter(prefix="/api")
    for router in (lenders.router, borrowers.router, loans.router, assets.router,
                   pledges.router, devices.router, alerts.router, deadletters.router,
                   monitor.router, users.router, users.audit_router):
        api.include_router(router)
    app.include_router(health.router)
    app.include_router(api)
    app.include_router(pages.router)
    add_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=options.max_body_bytes)
    return app


def _version() -> str:
    try:
        return version("collateral-watch")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)
