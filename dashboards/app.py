"""The dashboards' FastAPI app: a JSON API for risk teams and one HTML page.

Everything reads the registry and the telemetry store; nothing writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from dashboards.deps import AppContext
from dashboards.params import BadParameter
from dashboards.routes import alerts, assets, deadletters, health, loans, pages
from ingest.store import StoreError, StoreUnavailable, TelemetryStore
from registry import Registry

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(registry: Registry, store: TelemetryStore, *,
               now_ms: Callable[[], int] | None = None) -> FastAPI:
    """The app over ``registry`` and ``store``; ``now_ms`` is the wall clock unless given."""
    app = FastAPI(
        title="collateral-watch",
        version=_version(),
        description="Pledged assets, their telemetry, alerts and loan warning levels.",
        docs_url="/docs",
    )
    app.state.context = AppContext(registry, store, now_ms or _wall_clock_ms)
    api = APIRouter(prefix="/api")
    for module in (assets, alerts, loans, deadletters):
        api.include_router(module.router)
    app.include_router(health.router)
    app.include_router(api)
    app.include_router(pages.router)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BadParameter, _bad_parameter)
    app.add_exception_handler(StoreUnavailable, _unavailable("telemetry store"))
    app.add_exception_handler(StoreError, _store_refused)
    app.add_exception_handler(OperationalError, _unavailable("registry"))


async def _bad_parameter(_request: Request, exc: Exception) -> JSONResponse:
    # Shaped like FastAPI's own validation errors, so clients parse one format.
    assert isinstance(exc, BadParameter)
    detail = [{"type": "value_error", "loc": ["query", exc.name], "msg": exc.message}]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _store_refused(_request: Request, exc: Exception) -> JSONResponse:
    # Parameters are checked before any query, so a refusal is the store's (or
    # our) fault, not the caller's: an upstream error, with details kept in the log.
    log.warning("telemetry store refused a query: %s", exc)
    return JSONResponse({"detail": "the telemetry store refused the query"},
                        status_code=status.HTTP_502_BAD_GATEWAY)


def _unavailable(part: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        # The exception text may hold a host or path; the log gets the type only.
        log.warning("%s unavailable: %s", part, type(exc).__name__)
        return JSONResponse({"detail": f"{part} unavailable, try again shortly"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    return handler


def _version() -> str:
    try:
        return version("collateral-watch")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)
