"""The durable webhook outbox: what the monitor writes inside its own transaction.

The monitor writes an ``OutboxEvent`` in the same transaction as the alert or
warning change that causes it (``enqueue_event``); ``monitor.webhooks`` later
delivers it.

The body is the Standard Webhooks payload convention:

>>> from datetime import UTC, datetime
>>> event_body("alert.opened", {"asset_id": "a1"}, datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
'{"type":"alert.opened","timestamp":"2025-01-02T03:04:05.000Z","data":{"asset_id":"a1"}}'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from registry.db import as_utc, iso_z
from registry.models import OutboxEvent

__all__ = ["enqueue_event", "event_body"]

_MAX_EVENT_ID = 80  # OutboxEvent.event_id is String(80)


def event_body(event_type: str, data: Mapping[str, Any], occurred_at: datetime) -> str:
    """The exact JSON text that is signed and POSTed: ``{"type", "timestamp", "data"}``."""
    body = {"type": event_type, "timestamp": iso_z(occurred_at), "data": dict(data)}
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def enqueue_event(
    session: Session,
    *,
    lender_id: str,
    event_type: str,
    data: dict[str, Any],
    event_id: str,
    occurred_at: datetime,
    now: datetime | None = None,
) -> None:
    """Add one event to the outbox in the caller's transaction; a known ``event_id`` is a no-op.

    ``now`` (wall clock by default) is when the event becomes due for delivery.
    """
    if not event_id or len(event_id) > _MAX_EVENT_ID:
        raise ValueError(f"event_id must be 1-{_MAX_EVENT_ID} characters, not {len(event_id)}")
    due = as_utc(now or datetime.now(UTC))
    values = {
        "event_id": event_id,
        "lender_id": lender_id,
        "event_type": event_type,
        "payload": event_body(event_type, data, occurred_at),
        "created_at": due,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": due,
    }
    statement = _insert_ignoring_duplicates(session, values)
    if statement is not None:
        session.execute(statement)
    elif session.scalar(select(OutboxEvent.id).where(OutboxEvent.event_id == event_id)) is None:
        session.add(OutboxEvent(**values))


def _insert_ignoring_duplicates(session: Session, values: dict[str, Any]) -> Insert | None:
    # ON CONFLICT DO NOTHING holds even against a concurrent transaction that
    # inserted the same id; a select-then-insert would race and raise.
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(OutboxEvent).values(values).on_conflict_do_nothing(
            index_elements=["event_id"])
    if dialect == "postgresql":
        return postgresql.insert(OutboxEvent).values(values).on_conflict_do_nothing(
            index_elements=["event_id"])
    return None
