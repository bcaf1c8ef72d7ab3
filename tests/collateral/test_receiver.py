from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from collateral.receiver import WebhookReceiver
from monitor.webhook_protocol import signed_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"type": "alert.opened", "timestamp": "2025-01-01T00:00:00.000Z",
                   "data": {"asset_id": "a1"}})


@pytest.fixture()
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver({"l1": SECRET})
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def post(client: httpx.Client, url: str, body: str, event_id: str = "e1",
         secret: str = SECRET) -> httpx.Response:
    headers = signed_headers(event_id, body, secret, datetime.now(UTC))
    return client.post(url, content=body.encode(), headers=headers)


def test_valid_signature_is_accepted_and_kept(receiver: WebhookReceiver,
                                              client: httpx.Client) -> None:
    response = post(client, f"{receiver.base_url}/webhooks/l1", BODY)
    assert response.status_code == 204
    stats = receiver.stats()
    assert (stats["delivered"], stats["duplicates"], stats["signature_failures"]) == (1, 0, 0)
    assert stats["by_type"] == {"alert.opened": 1}
    [event] = receiver.events("alert.opened")
    assert (event.lender_id, event.webhook_id, event.body["data"]) == ("l1", "e1",
                                                                        {"asset_id": "a1"})


def test_tampered_body_is_rejected_and_counted(receiver: WebhookReceiver,
                                               client: httpx.Client) -> None:
    headers = signed_headers("e1", BODY, SECRET, datetime.now(UTC))
    tampered = BODY.replace("a1", "a2").encode()
    response = client.post(f"{receiver.base_url}/webhooks/l1", content=tampered, headers=headers)
    assert response.status_code == 401
    assert receiver.stats()["signature_failures"] == 1
    assert receiver.stats()["delivered"] == 0


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_signature_header_is_rejected(receiver: WebhookReceiver, client: httpx.Client,
                                              drop: str) -> None:
    headers = signed_headers("e1", BODY, SECRET, datetime.now(UTC))
    del headers[drop]
    response = client.post(f"{receiver.base_url}/webhooks/l1", content=BODY.encode(),
                           headers=headers)
    assert response.status_code == 401


def test_wrong_secret_and_stale_timestamp_are_rejected(receiver: WebhookReceiver,
                                                       client: httpx.Client) -> None:
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    assert post(client, f"{receiver.base_url}/webhooks/l1", BODY, secret=other).status_code == 401
    stale = signed_headers("e1", BODY, SECRET, datetime(2020, 1, 1, tzinfo=UTC))
    response = client.post(f"{receiver.base_url}/webhooks/l1", content=BODY.encode(),
                           headers=stale)
    assert response.status_code == 401
    assert receiver.stats()["signature_failures"] == 2


def test_duplicate_is_acknowledged_and_counted_once(receiver: WebhookReceiver,
                                                    client: httpx.Client) -> None:
    url = f"{receiver.base_url}/webhooks/l1"
    assert post(client, url, BODY, "e1").status_code == 204
    assert post(client, url, BODY, "e1").status_code == 204
    assert post(client, url, BODY, "e2").status_code == 204
    stats = receiver.stats()
    assert (stats["delivered"], stats["duplicates"]) == (2, 1)


def test_unknown_lender_and_path_are_404(receiver: WebhookReceiver, client: httpx.Client) -> None:
    assert post(client, f"{receiver.base_url}/webhooks/nobody", BODY).status_code == 404
    assert post(client, f"{receiver.base_url}/other", BODY).status_code == 404
    assert receiver.stats()["unknown_lender"] == 1


def test_secrets_can_be_set_after_start(client: httpx.Client) -> None:
    server = WebhookReceiver({})
    url = server.start()
    try:
        assert post(client, f"{url}/webhooks/l1", BODY).status_code == 404
        server.set_secrets({"l1": SECRET})
        assert post(client, f"{url}/webhooks/l1", BODY).status_code == 204
    finally:
        server.stop()
    server.stop()  # idempotent
