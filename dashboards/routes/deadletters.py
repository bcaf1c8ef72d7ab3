"""GET /api/deadletters: rejected input by reason, and the newest records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from dashboards.auth import PROVISIONERS, Principal, require
from dashboards.deps import SessionDep
from dashboards.schemas import DeadLetterPublic, DeadLettersPublic
from registry.db import as_utc
from registry.models import DeadLetter

__all__ = ["router", "payload_preview", "PREVIEW_BYTES"]

router = APIRouter(prefix="/deadletters", tags=["dead letters"])

PREVIEW_BYTES = 200


@router.get("", response_model=DeadLettersPublic)
def read_deadletters(
    session: SessionDep,
    _principal: Annotated[Principal, Depends(require(PROVISIONERS))],
    reason: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500, description="newest records to list")] = 50,
) -> DeadLettersPublic:
    counts = {str(r): int(n) for r, n in session.execute(
        select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
        .order_by(DeadLetter.reason))}
    statement = select(DeadLetter).order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc())
    if reason is not None:
        statement = statement.where(DeadLetter.reason == reason)
    newest = [_public(row) for row in session.scalars(statement.limit(limit))]
    return DeadLettersPublic(total=sum(counts.values()), counts=counts, newest=newest)


def _public(row: DeadLetter) -> DeadLetterPublic:
    received = as_utc(row.received_at)
    return DeadLetterPublic(
        id=row.id, received_at=received, reason=row.reason, detail=row.detail, topic=row.topic,
        device_id=row.device_id, payload_size=len(row.payload),
        payload_preview=payload_preview(row.payload),
        truncated=len(row.payload) > PREVIEW_BYTES)


def payload_preview(payload: bytes, size: int = PREVIEW_BYTES) -> str:
    r"""The first ``size`` bytes as text a person can read: bad UTF-8 and controls escaped.

    >>> payload_preview(b'{"a":\x00 1}\n\xff')
    '{"a":\\x00 1}\\n\\xff'
    """
    text = payload[:size].decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

