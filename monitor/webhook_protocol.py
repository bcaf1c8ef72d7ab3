"""The wire rules of one webhook attempt: what we sign and send, what the answer means.

- Headers (Standard Webhooks): ``webhook-id`` (the event id, the same on every
  retry, so a lender drops duplicates), ``webhook-timestamp`` (unix seconds of
  the attempt), ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``) and
  ``content-type: application/json``.
- Statuses, as Alertmanager's webhook notifier: 2xx delivered; 5xx, 408 and
  429 retried; any other status fails at once (a retry would get the same
  answer). A ``Retry-After`` in seconds says how long the lender asks us to wait.

Pure rules, no I/O: ``monitor.webhooks`` does the sending.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import httpx
from standardwebhooks.webhooks import Webhook

from registry.db import as_utc

__all__ = ["Verdict", "retry_after_s", "signed_headers", "verdict_for_status"]

_RETRY_STATUSES = frozenset({408, 429})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # the lender does not subscribe to the event's type: never sent


def verdict_for_status(status: int) -> Verdict:
    """How an HTTP status ends an attempt.

    >>> [verdict_for_status(s).value for s in (204, 302, 400, 408, 429, 503)]
    ['delivered', 'failed', 'failed', 'retry', 'retry', 'retry']
    """
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status >= 500 or status in _RETRY_STATUSES:
        return Verdict.RETRY
    return Verdict.FAILED


def signed_headers(event_id: str, payload: str, secret: str, sent_at: datetime,
                   previous_secret: str | None = None) -> dict[str, str]:
    """Standard Webhooks headers for one attempt; raises ``ValueError`` for a bad secret.

    During a secret rotation the old secret signs too: the spec's header holds a
    space-separated list, and a receiver accepts any signature it can verify.
    """
    sent_at = as_utc(sent_at).replace(microsecond=0)
    signatures = [Webhook(s).sign(event_id, sent_at, payload)
                  for s in (secret, previous_secret) if s]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }


def retry_after_s(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form is ignored (backoff covers it)."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None
