"""The server-rendered pages: GET / (what a risk team keeps open), each alert's page,
where people acknowledge, resolve, snooze or note it, and each loan's page (its
collateral, open alerts and warning history), where a lender closes or reopens it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboards.auth import (
    ALERT_ACTORS,
    COOKIE,
    EDITORS,
    PROVISIONERS,
    PagePrincipalDep,
    Principal,
    principal_for,
)
from dashboards.deps import ContextDep, SessionDep, StoreDep
from dashboards.problems import Problem
from dashboards.registry_schemas import AlertActionIn
from dashboards.routes.alerts import (
    AlertFilterDep,
    alert_history,
    alert_public,
    alerts_csv,
    record_action,
)
from dashboards.routes.loans import change_loan, loan_detail
from dashboards.routes.monitor import coverage_note, monitor_coverage
from dashboards.schemas import AssetPublic
from dashboards.summaries import (
    alert_summaries,
    asset_summaries,
    count_rows,
    loan_summaries,
    select_alerts,
    select_assets,
    select_loans,
)
from ingest.store import StoreError, TelemetryStore
from monitor.alert_actions import RECORDED
from registry.models import DeadLetter, LoanStatus
from registry.tokens import verify_token

__all__ = ["router", "templates", "PAGE_ROWS"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

# Jinja2Templates turns autoescaping on: every name, reason and detail is escaped.
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
PAGE_ROWS = 500  # per table; the API pages through the rest
T = TypeVar("T")


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


templates.env.filters["when"] = _when


@router.get("/", response_class=HTMLResponse, include_in_schema=False, response_model=None)
def read_index(request: Request, session: SessionDep, store: StoreDep,
               principal: PagePrincipalDep, app: ContextDep) -> HTMLResponse | RedirectResponse:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    scope = principal.lenders
    assets, store_error = _assets(session, store, scope)
    context: dict[str, Any] = {
        "loans": loan_summaries(session.execute(
            select_loans(lenders=scope, status=LoanStatus.ACTIVE).limit(PAGE_ROWS))),
        "loan_count": count_rows(session, select_loans(lenders=scope, status=LoanStatus.ACTIVE)),
        "alerts": alert_summaries(session.execute(
            select_alerts(status="open", lenders=scope).limit(PAGE_ROWS))),
        "alert_count": count_rows(session, select_alerts(status="open", lenders=scope)),
        "assets": assets,
        "asset_count": count_rows(session, select_assets(lenders=scope,
                                                         loan_status=LoanStatus.ACTIVE)),
        # Dead letters are the platform's, not a lender's: counted for operators only.
        "dead_letters": (int(session.scalar(select(func.count()).select_from(DeadLetter)) or 0)
                         if principal.role in PROVISIONERS else 0),
        "store_error": store_error,
        "monitor_note": coverage_note(monitor_coverage(
            session, principal, app.options.total_partitions, app.now())),
        "page_rows": PAGE_ROWS,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    return templates.TemplateResponse(request, "index.html", context)


def _assets(session: Session, store: TelemetryStore,
            scope: frozenset[str] | None) -> tuple[list[AssetPublic], str | None]:
    rows = [(a, lender) for a, lender in
            session.execute(select_assets(lenders=scope, loan_status=LoanStatus.ACTIVE)
                            .limit(PAGE_ROWS))]
    return _without_store_if_down(lambda s: asset_summaries(session, s, rows), store)


def _without_store_if_down(read: Callable[[TelemetryStore | None], T],
                              store: TelemetryStore) -> tuple[T, str | None]:
    """``read(store)``, or ``read(None)`` and why when the store is down: the registry half
    of a page is still worth showing without last-seen times and positions."""
    try:
        return read(store), None
    except StoreError as exc:
        log.warning("dashboard: telemetry store unavailable: %s", exc)
        return read(None), "telemetry store unavailable"


@router.get("/alerts.csv", include_in_schema=False, response_model=None)
def export_alerts_page(session: SessionDep, principal: PagePrincipalDep,
                       where: AlertFilterDep) -> Response:
    """The API's CSV export for a logged-in page (the dashboard's and loan page's links)."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return alerts_csv(session, where.statement(principal))


@router.get("/alerts/{alert_id}", response_class=HTMLResponse, include_in_schema=False,
            response_model=None)
def read_alert_page(alert_id: int, request: Request, session: SessionDep,
                    principal: PagePrincipalDep,
                    done: str | None = None) -> HTMLResponse | RedirectResponse:
    """One alert: what it says, its history, and (for those who may act) the form to
    acknowledge, resolve, snooze or note it."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return _alert_page(request, session, principal, alert_id,
                       done=done if done in RECORDED else None)


@router.post("/alerts/{alert_id}", include_in_schema=False, response_model=None)
async def act_on_alert_page(alert_id: int, request: Request, session: SessionDep,
                            principal: PagePrincipalDep) -> HTMLResponse | RedirectResponse:
    """The alert page's form: recorded as ``POST /api/alerts/{id}/actions`` records it,
    then back to the page (303), or the page again with what was wrong (422)."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    form = await _posted_form(request)
    if principal.role not in ALERT_ACTORS:
        raise Problem(403, f"role {principal.role.value} may not act on alerts")
    entered = {"action": form.get("action", ""), "note": form.get("note", ""),
               "until": form.get("until", "").strip()}
    try:
        until = _form_time(entered["until"]) if entered["action"] == "snooze" else None
        body = AlertActionIn(action=entered["action"], note=entered["note"], until=until)
    except (ValueError, ValidationError) as exc:
        return _alert_page(request, session, principal, alert_id, form=entered,
                           errors=_form_errors(exc), status_code=422)
    record_action(session, principal, alert_id, body)
    return RedirectResponse(f"/alerts/{alert_id}?done={body.action}", status_code=303)


def _alert_page(request: Request, session: Session, principal: Principal, alert_id: int, *,
                done: str | None = None, form: dict[str, str] | None = None,
                errors: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {
        "alert": alert_public(session, principal, alert_id),  # 404 unless the caller sees it
        "history": alert_history(session, alert_id), "done": done,
        "errors": errors or [], "form": form or {"action": "acknowledge", "note": "", "until": ""},
        "actions": RECORDED, "can_act": principal.role in ALERT_ACTORS,
        "user": principal.user_id,
    }
    return templates.TemplateResponse(request, "alert.html", context, status_code=status_code)


#: The loan page's buttons, and the status each sets.
_LOAN_ACTIONS = {"close": LoanStatus.CLOSED, "reopen": LoanStatus.ACTIVE}


@router.get("/loans/{loan_id}", response_class=HTMLResponse, include_in_schema=False,
            response_model=None)
def read_loan_page(loan_id: str, request: Request, session: SessionDep, store: StoreDep,
                   principal: PagePrincipalDep,
                   done: str | None = None) -> HTMLResponse | RedirectResponse:
    """One loan: its collateral, open alerts and warning history, and (for lenders and
    admins) the button that closes it (repaid: its collateral released) or reopens it."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    loan, store_error = _without_store_if_down(
        lambda s: loan_detail(session, s, principal, loan_id), store)
    context: dict[str, Any] = {
        "loan": loan, "store_error": store_error,
        "alerts": alert_summaries(session.execute(
            select_alerts(status="open", loan_id=loan_id, lenders=principal.lenders)
            .limit(PAGE_ROWS))),
        "can_edit": principal.role in EDITORS, "user": principal.user_id,
        "done": done if done in _LOAN_ACTIONS else None,
    }
    return templates.TemplateResponse(request, "loan.html", context)


@router.post("/loans/{loan_id}", include_in_schema=False, response_model=None)
async def act_on_loan_page(loan_id: str, request: Request, session: SessionDep,
                           principal: PagePrincipalDep) -> RedirectResponse:
    """The loan page's button: ``action=close`` or ``reopen``, changed and audited as
    ``PATCH /api/loans/{id}`` does, then back to the page (303)."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    form = await _posted_form(request)
    if principal.role not in EDITORS:
        raise Problem(403, f"role {principal.role.value} may not close or reopen loans")
    action = form.get("action", "")
    if action not in _LOAN_ACTIONS:
        raise Problem(422, f"action must be close or reopen, not {action!r}")
    change_loan(session, principal, loan_id, {"status": _LOAN_ACTIONS[action].value})
    return RedirectResponse(f"/loans/{loan_id}?done={action}", status_code=303)


async def _posted_form(request: Request) -> dict[str, str]:
    """A page form's fields; 403 if it was posted from another site."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        # The login cookie is SameSite=strict already; a foreign origin is refused outright.
        raise Problem(403, f"form posted from another site ({origin})")
    return {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace"),
                                         keep_blank_values=True).items()}


def _form_time(text: str) -> datetime:
    """A datetime-local field's value (no zone: the form says UTC), or one with its zone."""
    if not text:
        raise ValueError("snooze needs a time to snooze until")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"until {text!r} is not a time (YYYY-MM-DDTHH:MM)") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _form_errors(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()]
    return [str(exc)]


_LOGIN = """<!doctype html><html><head><meta charset="utf-8"><title>collateral-watch: log in</title>
</head><body><h1>collateral-watch</h1><form method="post" action="/login">
<label>API token <input name="token" type="password" autocomplete="off" size="60"></label>
<button>Log in</button></form><p>{message}</p></body></html>"""


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def read_login() -> HTMLResponse:
    return HTMLResponse(_LOGIN.format(message="Paste an API token (collateral token create)."))


@router.post("/login", include_in_schema=False, response_model=None)
async def log_in(request: Request, session: SessionDep) -> HTMLResponse | RedirectResponse:
    """Check the token, keep it in an HttpOnly cookie, and go to the page."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    user = verify_token(session, token, datetime.now(UTC)) if token else None
    if user is None:
        return HTMLResponse(_LOGIN.format(message="That token is unknown, revoked or expired."),
                            status_code=401)
    log.info("page login: user %s (%s)", user.id, principal_for(session, user).role.value)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response
