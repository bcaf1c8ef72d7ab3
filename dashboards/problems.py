"""Every error the API returns is RFC 9457 problem details (``application/problem+json``).

``{"type", "title", "status", "detail", "instance"}``, plus ``errors`` (each
``{"loc", "msg", "type"}``) when the request itself was invalid.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from dashboards.params import BadParameter
from ingest.store import StoreError, StoreUnavailable

__all__ = ["Problem", "problem_response", "add_problem_handlers", "PROBLEM_JSON"]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raise in a route to answer with problem details; ``status`` is an HTTP status."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None,
                 errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.errors = status, detail, headers, errors


def problem_response(request: Request, status: int, detail: str, *,
                     errors: Sequence[dict[str, Any]] = (),
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status, "detail": detail, "instance": request.url.path}
    if errors:
        body["errors"] = jsonable_encoder(list(errors))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def add_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(BadParameter, _bad_parameter)
    app.add_exception_handler(StoreUnavailable, _unavailable("telemetry store"))
    app.add_exception_handler(StoreError, _store_refused)
    app.add_exception_handler(OperationalError, _unavailable("registry"))


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(request, exc.status, exc.detail, errors=exc.errors,
                            headers=exc.headers)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, exc.status_code, str(exc.detail), headers=headers)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()[:50]]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem_response(request, 422, f"{where}: {first['msg']}{more}", errors=errors)


async def _bad_parameter(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadParameter)
    errors = [{"type": "value_error", "loc": ["query", exc.name], "msg": exc.message}]
    return problem_response(request, 422, f"{exc.name}: {exc.message}", errors=errors)


async def _store_refused(request: Request, exc: Exception) -> JSONResponse:
    # Parameters are checked before any query, so a refusal is the store's (or
    # our) fault, not the caller's: an upstream error, with details kept in the log.
    log.warning("telemetry store refused a query: %s", exc)
    return problem_response(request, 502, "the telemetry store refused the query")


def _unavailable(part: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        # The exception text may hold a host or path; the log gets the type only.
        log.warning("%s unavailable: %s", part, type(exc).__name__)
        return problem_response(request, 503, f"{part} unavailable, try again shortly")

    return handler
