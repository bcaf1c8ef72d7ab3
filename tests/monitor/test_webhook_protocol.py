from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from monitor.webhook_protocol import retry_after_s, signed_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SENT = datetime(2025, 11, 28, 12, 0, 0, 750_000, tzinfo=UTC)


def test_signed_headers_verify_with_the_reference_library() -> None:
    headers = signed_headers("ev-1", '{"type":"t"}', SECRET, SENT)
    assert headers["webhook-id"] == "ev-1"
    assert headers["webhook-timestamp"] == str(int(SENT.timestamp()))  # whole seconds
    assert headers["content-type"] == "application/json"
    webhook = Webhook(SECRET)
    assert headers["webhook-signature"] == webhook.sign("ev-1", SENT.replace(microsecond=0),
                                                        '{"type":"t"}')


def test_a_naive_send_time_is_taken_as_utc() -> None:
    naive = SENT.replace(tzinfo=None)
    assert signed_headers("e", "{}", SECRET, naive) == signed_headers("e", "{}", SECRET, SENT)


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), (" 1.5 ", 1.5), ("0", 0.0), ("-1", None), ("inf", None), ("nan", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("", None),
])
def test_retry_after_takes_seconds_only(value: str, expected: float | None) -> None:
    response = httpx.Response(429, headers={"retry-after": value} if value else {})
    assert retry_after_s(response) == expected
