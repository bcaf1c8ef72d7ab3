from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.outbox import enqueue_event
from registry import Registry
from registry.models import Lender, OutboxEvent

T0 = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(f"sqlite:///{tmp_path}/r.db")
    with reg.session() as session:
        session.add(Lender(id="l1", name="Harbour Bank"))
    yield reg
    reg.close()


def enqueue(registry: Registry, event_id: str = "ev-1",
            data: dict[str, Any] | None = None) -> None:
    with registry.session() as session:
        enqueue_event(session, lender_id="l1", event_type="alert.opened",
                      data=data or {"asset_id": "a1", "kind": "tamper"}, event_id=event_id,
                      occurred_at=T0 - timedelta(minutes=5), now=T0)


def outbox(registry: Registry) -> list[OutboxEvent]:
    with registry.session() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_enqueue_builds_the_standard_webhooks_body(registry: Registry) -> None:
    enqueue(registry)
    [row] = outbox(registry)
    assert json.loads(row.payload) == {"type": "alert.opened",
                                       "timestamp": "2025-11-28T11:55:00.000Z",
                                       "data": {"asset_id": "a1", "kind": "tamper"}}
    assert (row.status, row.attempts, utc(row.next_attempt_at)) == ("pending", 0, T0)


def test_duplicate_enqueue_is_one_row(registry: Registry) -> None:
    enqueue(registry)
    enqueue(registry, data={"changed": True})
    with registry.session() as session:  # twice in one transaction, too
        for _ in range(2):
            enqueue_event(session, lender_id="l1", event_type="t", data={}, event_id="ev-2",
                          occurred_at=T0, now=T0)
    rows = outbox(registry)
    assert [r.event_id for r in rows] == ["ev-1", "ev-2"]
    assert "changed" not in rows[0].payload  # the first write wins


def test_enqueue_refuses_an_event_id_too_long_for_the_column(registry: Registry) -> None:
    with pytest.raises(ValueError, match="event_id"), registry.session() as session:
        enqueue_event(session, lender_id="l1", event_type="t", data={}, event_id="x" * 81,
                      occurred_at=T0)
