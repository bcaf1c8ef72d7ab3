"""A demo lender: an HTTP endpoint that verifies Standard Webhooks and counts what it gets.

``POST /webhooks/{lender_id}`` with a body signed by that lender's secret is
answered 204; a bad or missing signature 401; an unknown lender 404. Events
are deduplicated by ``webhook-id``, as a real receiver must do, since the
sender retries and delivers at least once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

__all__ = ["WebhookReceiver", "ReceivedEvent"]

log = logging.getLogger(__name__)

_PREFIX = "/webhooks/"
_MAX_BODY = 1_000_000


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    lender_id: str
    webhook_id: str
    body: Mapping[str, Any]

    @property
    def type(self) -> str:
        return str(self.body.get("type", ""))


@dataclass
class _Tally:
    seen: set[tuple[str, str]] = field(default_factory=set)
    events: list[ReceivedEvent] = field(default_factory=list)
    duplicates: int = 0
    signature_failures: int = 0
    unknown_lender: int = 0


class WebhookReceiver:
    """Verifying webhook endpoint on 127.0.0.1 in a daemon thread; ``start()`` gives its URL."""

    def __init__(self, secrets: Mapping[str, str], host: str = "127.0.0.1", port: int = 0) -> None:
        self._secrets = dict(secrets)
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._tally = _Tally()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def set_secrets(self, secrets: Mapping[str, str]) -> None:
        """Replace the lender secrets (the demo learns them after the server is up)."""
        with self._lock:
            self._secrets = dict(secrets)

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        self._server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        # A short poll interval makes stop() quick; the idle cost is negligible.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="webhook-receiver", daemon=True)
        self._thread.start()
        log.info("webhook receiver listening on %s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            tally = self._tally
            by_type: dict[str, int] = {}
            for event in tally.events:
                by_type[event.type] = by_type.get(event.type, 0) + 1
            return {"delivered": len(tally.events), "duplicates": tally.duplicates,
                    "signature_failures": tally.signature_failures,
                    "unknown_lender": tally.unknown_lender, "by_type": by_type}

    def events(self, event_type: str | None = None) -> list[ReceivedEvent]:
        """The verified, unique events in arrival order, optionally of one type."""
        with self._lock:
            return [e for e in self._tally.events if event_type in (None, e.type)]

    # -- called from the handler thread ------------------------------------------------------

    def receive(self, lender_id: str, body: bytes, headers: Mapping[str, str]) -> HTTPStatus:
        """Judge one delivery: the status to answer with."""
        with self._lock:
            secret = self._secrets.get(lender_id)
        if secret is None:
            return self._count_unknown(lender_id)
        parsed = _verified(secret, body, headers)
        if parsed is None:
            return self._count_bad_signature(lender_id)
        event = ReceivedEvent(lender_id, headers.get("webhook-id", ""), parsed)
        with self._lock:
            key = (lender_id, event.webhook_id)
            if key in self._tally.seen:
                self._tally.duplicates += 1
            else:
                self._tally.seen.add(key)
                self._tally.events.append(event)
        # A duplicate is acknowledged too: the sender only needs to know we have it.
        return HTTPStatus.NO_CONTENT

    def _count_unknown(self, lender_id: str) -> HTTPStatus:
        with self._lock:
            self._tally.unknown_lender += 1
        log.warning("webhook receiver: unknown lender %r", lender_id[:64])
        return HTTPStatus.NOT_FOUND

    def _count_bad_signature(self, lender_id: str) -> HTTPStatus:
        with self._lock:
            self._tally.signature_failures += 1
        log.warning("webhook receiver: bad signature for lender %r", lender_id[:64])
        return HTTPStatus.UNAUTHORIZED


def _verified(secret: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any] | None:
    """The parsed body if its signature holds (and its timestamp is recent), else None."""
    try:
        parsed = Webhook(secret).verify(body, dict(headers))
    except (WebhookVerificationError, EmptyWebhookSecretError, ValueError):
        # ValueError also covers a malformed signature header and a non-UTF-8 body.
        return None
    return parsed if isinstance(parsed, dict) else None


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "collateral-receiver/1"

        def do_POST(self) -> None:
            lender_id = self.path[len(_PREFIX):] if self.path.startswith(_PREFIX) else ""
            if not lender_id or "/" in lender_id:
                self._reply(HTTPStatus.NOT_FOUND)
                return
            body = self._body()
            if body is None:
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._reply(receiver.receive(lender_id, body, headers))

        def _body(self) -> bytes | None:
            try:
                length = int(self.headers.get("content-length", ""))
            except ValueError:
                self._reply(HTTPStatus.LENGTH_REQUIRED)
                return None
            if not 0 <= length <= _MAX_BODY:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                return None
            return self.rfile.read(length)

        def _reply(self, status: HTTPStatus) -> None:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            # http.server writes every request to stderr; ours go to the log.
            log.debug("webhook receiver: " + format, *args)

    return Handler

