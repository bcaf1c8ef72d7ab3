"""Delivery during a secret rotation carries both signatures; after the overlap only
the new one; and a target that resolves to a private address is not called."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from registry import Registry
from tests.monitor.test_webhooks import (
    SECRET,
    SECRET_2,
    T0,
    Recorder,
    dispatcher,
    enqueue,
    fleet_registry,
    outbox,
    set_lender,
)


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[Registry]:
    with fleet_registry(tmp_path) as reg:
        yield reg


def _verifies(secret: str, request: httpx.Request) -> bool:
    # Webhook.verify also checks the timestamp against now; these run at T0 (2025).
    sent_at = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(request.headers["webhook-id"], sent_at,
                                    request.content.decode())
    return expected in request.headers["webhook-signature"].split(" ")


def test_both_secrets_sign_during_the_overlap_then_only_the_new(registry: Registry) -> None:
    set_lender(registry, "l1", webhook_secret=SECRET_2, webhook_previous_secret=SECRET,
               webhook_previous_until=T0 + timedelta(hours=1))
    recorder = Recorder(200)
    enqueue(registry, "ev-1")
    sender = dispatcher(registry, recorder, clock=lambda: T0)
    sender.run_once(T0)
    [during] = recorder.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verifies(SECRET, during) and _verifies(SECRET_2, during)
    later = T0 + timedelta(hours=2)
    enqueue(registry, "ev-2")
    dispatcher(registry, recorder, clock=lambda: later).run_once(later)
    after = recorder.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(SECRET_2, after) and not _verifies(SECRET, after)


def test_private_target_is_not_called_unless_allowed(registry: Registry) -> None:
    set_lender(registry, "l1", webhook_url="http://169.254.169.254/latest/meta-data")
    recorder = Recorder(200)
    enqueue(registry, "ev-1")
    dispatcher(registry, recorder, allow_private=False).run_once(T0)
    assert recorder.requests == []
    [row] = outbox(registry)
    assert row.status == "failed" and "link-local" in (row.last_error or "")
