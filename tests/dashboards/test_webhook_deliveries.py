"""A lender sees its webhook outbox and sends again what was given up: the events its
receiver missed while down for longer than the retries last are not lost."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from dashboards.app import create_app
from ingest.store.embedded import EmbeddedStore
from monitor.outbox import enqueue_event
from monitor.webhooks import WebhookDispatcher
from registry import Registry
from registry.access import AuditEntry, Role
from registry.models import Lender, OutboxEvent
from tests.dashboards.conftest import auth, make_token

T_OUTAGE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _enqueue(registry: Registry, event_id: str, at: datetime) -> None:
    with registry.session() as session:
        enqueue_event(session, lender_id="l1", event_type="alert.opened",
                      data={"asset_id": "truck-1", "kind": "tamper"}, event_id=event_id,
                      occurred_at=at, now=at)


def _dispatch(registry: Registry, answer: int, now: datetime) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answer)

    with WebhookDispatcher(registry, transport=httpx.MockTransport(handler), max_attempts=1,
                           rng=random.Random(1), allow_private=True) as sender:
        sender.run_once(now)
    return seen


def test_failed_events_are_listed_and_sent_again_with_their_webhook_id(
        registry: Registry, store: EmbeddedStore) -> None:
    with registry.session() as session:  # a resolvable name is not needed: allow_private
        lender = session.get(Lender, "l1")
        assert lender is not None
        lender.webhook_url = "http://127.0.0.1:9/hook"
    _enqueue(registry, "ev-before", T_OUTAGE - timedelta(hours=2))
    _enqueue(registry, "ev-during-1", T_OUTAGE)
    _enqueue(registry, "ev-during-2", T_OUTAGE + timedelta(minutes=5))
    first = _dispatch(registry, 503, T_OUTAGE + timedelta(hours=1))  # the receiver is down
    assert len(first) == 3

    ana = auth(make_token(registry, "ana", Role.LENDER, "l1"))
    with TestClient(create_app(registry, store), headers=ana) as client:
        failed = client.get("/api/lenders/l1/webhook/deliveries?status=failed").json()
        assert failed["count"] == 3
        newest = failed["data"][0]
        assert (newest["event_id"], newest["status"], newest["attempts"],
                newest["last_status"]) == ("ev-during-2", "failed", 1, 503)
        assert newest["last_error"] == "gave up after 1 attempts: HTTP 503"
        assert newest["payload"]["data"] == {"asset_id": "truck-1", "kind": "tamper"}
        assert newest["next_attempt_at"] is None
        assert client.get("/api/lenders/l1/webhook/deliveries?status=pending").json()[
            "count"] == 0
        assert client.get("/api/lenders/l1/webhook/deliveries?status=lost").status_code == 422

        # Naive times are ambiguous: refused, nothing requeued.
        naive = client.post("/api/lenders/l1/webhook/redeliver",
                            json={"since": "2026-11-20T09:00:00"})
        assert naive.status_code == 422 and "zone" in naive.text
        again = client.post("/api/lenders/l1/webhook/redeliver",
                            json={"since": "2026-11-20T10:00:00+01:00"})  # = T_OUTAGE
        assert again.status_code == 200 and again.json() == {"requeued": 2}
        pending = client.get("/api/lenders/l1/webhook/deliveries?status=pending").json()
        assert {x["event_id"] for x in pending["data"]} == {"ev-during-1", "ev-during-2"}
        assert all(x["attempts"] == 0 and x["next_attempt_at"] for x in pending["data"])

    second = _dispatch(registry, 200, datetime.now(UTC) + timedelta(seconds=1))
    assert sorted(r.headers["webhook-id"] for r in second) == ["ev-during-1", "ev-during-2"]
    assert sorted(r.headers["webhook-id"] for r in first[1:]) == sorted(
        r.headers["webhook-id"] for r in second)  # the same ids: a receiver dedups by them
    with registry.session() as session:
        statuses = dict(session.execute(select(OutboxEvent.event_id, OutboxEvent.status)).all())
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "webhook.redeliver")).one()
    assert statuses == {"ev-before": "failed", "ev-during-1": "delivered",
                        "ev-during-2": "delivered"}
    assert (audit.actor, audit.detail["requeued"]) == ("ana", 2)


def test_redeliver_needs_a_webhook_url(registry: Registry, store: EmbeddedStore) -> None:
    admin = auth(make_token(registry, "root", Role.ADMIN))
    with TestClient(create_app(registry, store), headers=admin) as client:
        refused = client.post("/api/lenders/l2/webhook/redeliver",
                              json={"since": "2026-11-20T00:00:00Z"})
        assert refused.status_code == 409 and "webhook URL" in refused.text
