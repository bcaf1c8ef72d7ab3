"""/api/lenders: lenders (admins create them) and each lender's webhook endpoint.

A webhook secret is generated here, shown once, and rotated with an overlap:
after a rotation deliveries carry signatures by the new and the old secret
until ``rotating_until``, so a receiver can switch keys without losing events.
A lender sees its outbox (``webhook/deliveries``) and sends what was given up
again (``webhook/redeliver``), e.g. after its receiver was down for longer
than the retries last.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from sqlalchemy import select, update

from dashboards.auth import ADMINS, EDITORS, Principal, PrincipalDep, require
from dashboards.changes import add_new, apply_patch
from dashboards.deps import SessionDep, SettingsDep
from dashboards.lookups import in_scope, visible_lender
from dashboards.params import Limit, Offset
from dashboards.problems import Problem
from dashboards.registry_schemas import (
    DeliveriesOut,
    DeliveryOut,
    LenderIn,
    LenderOut,
    LenderPatch,
    LendersOut,
    RedeliverIn,
    RedeliverOut,
    WebhookIn,
    WebhookOut,
    WebhookSecretOut,
)
from dashboards.summaries import count_rows
from registry.audit import record_audit
from registry.db import as_utc
from registry.models import Lender, OutboxEvent
from registry.ssrf import UnsafeUrl, check_webhook_url

__all__ = ["router", "ROTATION_OVERLAP"]

router = APIRouter(prefix="/lenders", tags=["lenders"])

#: How long the previous secret stays valid after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)

Admin = Annotated[Principal, Depends(require(ADMINS))]
Editor = Annotated[Principal, Depends(require(EDITORS))]


def _out(lender: Lender) -> LenderOut:
    return LenderOut(id=lender.id, name=lender.name, organisation=lender.organisation,
                     webhook_configured=lender.webhook_url is not None)


@router.get("", response_model=LendersOut)
def read_lenders(session: SessionDep, principal: PrincipalDep, organisation: str | None = None,
                 limit: Limit = 100,
                 offset: Offset = 0) -> LendersOut:
    statement = in_scope(select(Lender).order_by(Lender.id), principal, Lender.id)
    if organisation is not None:
        statement = statement.where(Lender.organisation == organisation)
    rows = session.scalars(statement.limit(limit).offset(offset))
    return LendersOut(data=[_out(x) for x in rows], count=count_rows(session, statement))


@router.post("", response_model=LenderOut, status_code=status.HTTP_201_CREATED)
def create_lender(body: LenderIn, session: SessionDep, principal: Admin) -> LenderOut:
    lender = add_new(session, Lender(**body.model_dump()), body.id, "lender")
    record_audit(session, principal.user_id, "lender.create", "lender", body.id, body.id,
                 body.model_dump())
    return _out(lender)


@router.get("/{lender_id}", response_model=LenderOut)
def read_lender(lender_id: str, session: SessionDep, principal: PrincipalDep) -> LenderOut:
    return _out(visible_lender(session, principal, lender_id))


@router.patch("/{lender_id}", response_model=LenderOut)
def update_lender(lender_id: str, body: LenderPatch, session: SessionDep,
                  principal: Admin) -> LenderOut:
    lender = visible_lender(session, principal, lender_id)
    changes = apply_patch(lender, body.model_dump(exclude_unset=True), ("name",))
    record_audit(session, principal.user_id, "lender.update", "lender", lender_id, lender_id,
                 changes)
    return _out(lender)


# -- webhook endpoint -----------------------------------------------------------------------


def _webhook_out(lender: Lender) -> WebhookOut:
    until = lender.webhook_previous_until
    if until is not None:
        until = as_utc(until)
    return WebhookOut(lender_id=lender.id, url=lender.webhook_url, rotating_until=until,
                      events=lender.webhook_events)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@router.get("/{lender_id}/webhook", response_model=WebhookOut)
def read_webhook(lender_id: str, session: SessionDep, principal: PrincipalDep) -> WebhookOut:
    return _webhook_out(visible_lender(session, principal, lender_id))


@router.put("/{lender_id}/webhook", response_model=WebhookSecretOut)
def set_webhook(lender_id: str, body: WebhookIn, session: SessionDep, principal: Editor,
                settings: SettingsDep) -> WebhookSecretOut:
    """Set the URL and the event types it gets (all if none are named); the first time, a
    secret is generated and returned once."""
    lender = visible_lender(session, principal, lender_id)
    try:
        url = check_webhook_url(body.url, allow_private=settings.webhook_allow_private)
    except UnsafeUrl as exc:
        raise Problem(422, str(exc), errors=[{"loc": ["body", "url"], "msg": str(exc),
                                              "type": "unsafe_url"}]) from None
    lender.webhook_url, lender.webhook_events = url, body.events
    record_audit(session, principal.user_id, "webhook.set", "lender", lender_id, lender_id,
                 {"host": _host(url), "events": body.events})
    if lender.webhook_secret is not None:
        return WebhookSecretOut(**_webhook_out(lender).model_dump(), secret=None)
    lender.webhook_secret = new_webhook_secret()
    return WebhookSecretOut(**_webhook_out(lender).model_dump(), secret=lender.webhook_secret)


@router.post("/{lender_id}/webhook/rotate", response_model=WebhookSecretOut)
def rotate_webhook_secret(lender_id: str, session: SessionDep,
                          principal: Editor) -> WebhookSecretOut:
    """A new secret; the old one keeps signing too for ``ROTATION_OVERLAP``."""
    lender = visible_lender(session, principal, lender_id)
    if lender.webhook_url is None:
        raise Problem(409, "set the webhook URL first (PUT .../webhook)")
    lender.webhook_previous_secret = lender.webhook_secret
    lender.webhook_previous_until = datetime.now(UTC) + ROTATION_OVERLAP
    lender.webhook_secret = new_webhook_secret()
    record_audit(session, principal.user_id, "webhook.rotate", "lender", lender_id, lender_id)
    return WebhookSecretOut(**_webhook_out(lender).model_dump(), secret=lender.webhook_secret)


@router.delete("/{lender_id}/webhook", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(lender_id: str, session: SessionDep, principal: Editor) -> None:
    lender = visible_lender(session, principal, lender_id)
    lender.webhook_url = lender.webhook_secret = lender.webhook_previous_secret = None
    lender.webhook_previous_until = lender.webhook_events = None
    record_audit(session, principal.user_id, "webhook.delete", "lender", lender_id, lender_id)


@router.get("/{lender_id}/webhook/deliveries", response_model=DeliveriesOut)
def read_deliveries(lender_id: str, session: SessionDep, principal: PrincipalDep,
                    status: Literal["pending", "delivered", "failed", "skipped"] | None = None,
                    limit: Limit = 100, offset: Offset = 0) -> DeliveriesOut:
    """The lender's webhook events, newest first, with how their delivery went."""
    visible_lender(session, principal, lender_id)
    statement = select(OutboxEvent).where(OutboxEvent.lender_id == lender_id)
    if status is not None:
        statement = statement.where(OutboxEvent.status == status)
    rows = session.scalars(statement.order_by(OutboxEvent.id.desc()).limit(limit).offset(offset))
    return DeliveriesOut(data=[_delivery(x) for x in rows], count=count_rows(session, statement))


@router.post("/{lender_id}/webhook/redeliver", response_model=RedeliverOut)
def redeliver(lender_id: str, body: RedeliverIn, session: SessionDep,
              principal: Editor) -> RedeliverOut:
    """Send the failed events created since ``since`` again, each with a fresh round of
    attempts and its original ``webhook-id`` (a receiver that has one drops the copy)."""
    lender = visible_lender(session, principal, lender_id)
    if lender.webhook_url is None:
        raise Problem(409, "set the webhook URL first (PUT .../webhook)")
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.lender_id == lender_id, OutboxEvent.status == "failed",
               OutboxEvent.created_at >= body.since.astimezone(UTC))
        .values(status="pending", attempts=0, next_attempt_at=datetime.now(UTC))
        .execution_options(synchronize_session=False))
    requeued = int(getattr(result, "rowcount", 0) or 0)
    record_audit(session, principal.user_id, "webhook.redeliver", "lender", lender_id, lender_id,
                 {"since": body.since.isoformat(), "requeued": requeued})
    return RedeliverOut(requeued=requeued)


def _delivery(row: OutboxEvent) -> DeliveryOut:
    delivered = row.delivered_at
    return DeliveryOut(
        event_id=row.event_id, event_type=row.event_type, created_at=as_utc(row.created_at),
        status=row.status, attempts=row.attempts,
        next_attempt_at=as_utc(row.next_attempt_at) if row.status == "pending" else None,
        delivered_at=as_utc(delivered) if delivered is not None else None,
        last_status=row.last_status, last_error=row.last_error, payload=json.loads(row.payload))


def _host(url: str) -> str:
    # The audit log gets the host only: a URL's path or query may carry a lender's token.
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""
