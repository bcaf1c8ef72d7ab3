"""Webhooks go to the address the SSRF check passed, under the URL's own name.

A dispatcher that checked a name and then let the HTTP client resolve it again
could be sent to a private address in between (DNS rebinding). These tests
hold it to one resolution per delivery, the request sent to the checked address
with the name in its Host header and, for https, in the TLS handshake, whose
certificate must still be the name's.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from monitor.webhooks import WebhookDispatcher
from registry import Registry
from tests.monitor.test_webhooks import (
    T0,
    Recorder,
    enqueue,
    fleet_registry,
    outbox,
    set_lender,
)

PUBLIC, PRIVATE = "93.184.216.34", "10.0.0.7"
NAME = "hooks.lender.test"


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[Registry]:
    with fleet_registry(tmp_path) as reg:
        yield reg


class Rebinding:
    """A name that answers a public address the first time it is asked, then a private one."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return [PUBLIC] if len(self.asked) == 1 else [PRIVATE]


def pinned(registry: Registry, recorder: Recorder, resolve: Rebinding) -> WebhookDispatcher:
    return WebhookDispatcher(registry, transport=httpx.MockTransport(recorder),
                             allow_private=False, resolve=resolve)


@pytest.mark.parametrize(("url", "sent", "host", "sni"), [
    (f"https://{NAME}/hooks?token=t", f"https://{PUBLIC}/hooks?token=t", NAME, NAME),
    (f"http://{NAME}:8080/hooks", f"http://{PUBLIC}:8080/hooks", f"{NAME}:8080", None)])
def test_the_request_goes_to_the_checked_address_under_the_name(
        registry: Registry, url: str, sent: str, host: str, sni: str | None) -> None:
    set_lender(registry, "l1", webhook_url=url)
    enqueue(registry)
    recorder, resolve = Recorder(200), Rebinding()
    with pinned(registry, recorder, resolve) as sender:
        assert sender.run_once(T0).delivered == 1
    [request] = recorder.requests
    assert resolve.asked == [NAME]  # resolved once: nothing else asks the name again
    assert str(request.url) == sent and request.headers["host"] == host
    assert request.extensions.get("sni_hostname") == sni


def test_each_delivery_checks_again(registry: Registry) -> None:
    set_lender(registry, "l1", webhook_url=f"https://{NAME}/hooks")
    recorder, resolve = Recorder(200), Rebinding()
    with pinned(registry, recorder, resolve) as sender:
        enqueue(registry, "ev-1")
        sender.run_once(T0)
        enqueue(registry, "ev-2")  # the name now points inside: refused, not sent
        sender.run_once(T0)
    assert len(recorder.requests) == 1 and resolve.asked == [NAME, NAME]
    second = next(row for row in outbox(registry) if row.event_id == "ev-2")
    assert second.status == "failed" and f"{NAME} ({PRIVATE}) is a private" in (
        second.last_error or "")


def test_a_kept_connection_serves_one_name_only(registry: Registry) -> None:
    # Two lenders' hooks on one address (a shared front end): each name gets its own
    # client, so no connection made for one name's certificate carries the other's events.
    set_lender(registry, "l1", webhook_url=f"https://{NAME}/hooks")
    set_lender(registry, "l2", webhook_url="https://other.lender.test/hooks")
    enqueue(registry, "ev-1", "l1")
    enqueue(registry, "ev-2", "l2")
    recorder = Recorder(200, 200)
    sender = pinned(registry, recorder, lambda host: [PUBLIC])  # type: ignore[arg-type]
    with sender:
        assert sender.run_once(T0).delivered == 2
        assert set(sender._clients) == {NAME, "other.lender.test"}
    assert {r.extensions.get("sni_hostname") for r in recorder.requests} == {
        NAME, "other.lender.test"}


@pytest.fixture()
def tls_server() -> Iterator[tuple[int, trustme.CA]]:
    """An https server on 127.0.0.1 whose certificate is for NAME only."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME).configure_cert(context)

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], ca
    finally:
        server.shutdown()
        server.server_close()


def test_a_pinned_https_request_still_verifies_the_names_certificate(
        tls_server: tuple[int, trustme.CA]) -> None:
    """What the dispatcher sends (the address in the URL, the name as Host and SNI) is
    verified against the name's certificate, and fails without the name."""
    port, ca = tls_server
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with httpx.Client(verify=context) as client:
        ok = client.post(f"https://127.0.0.1:{port}/hooks", content=b"{}",
                         headers={"host": f"{NAME}:{port}"},
                         extensions={"sni_hostname": NAME})
        assert ok.status_code == 204
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|match"):
            client.post(f"https://127.0.0.1:{port}/hooks", content=b"{}")


def test_an_unreachable_address_gives_way_to_the_next(registry: Registry) -> None:
    # An IPv6 address first, on a host without IPv6: the IPv4 one is tried in the same round.
    set_lender(registry, "l1", webhook_url=f"https://{NAME}/hooks")
    enqueue(registry)
    v6 = "2606:2800:220:1:248:1893:25c8:1946"
    recorder = Recorder(httpx.ConnectError("network unreachable"), 200)
    sender = pinned(registry, recorder, lambda host: [v6, PUBLIC])  # type: ignore[arg-type]
    with sender:
        assert sender.run_once(T0).delivered == 1
    assert [r.url.host for r in recorder.requests] == [v6, PUBLIC]
    [row] = outbox(registry)
    assert (row.status, row.attempts) == ("delivered", 1)
