"""Webhook targets: an http(s) URL whose host is a public address, unless allowed.

A lender's webhook URL is fetched by the platform, so a URL pointing at
loopback, a private network, link-local (cloud metadata at 169.254.169.254)
or other reserved space would let a lender make the platform call inside its
own network (server-side request forgery). Names are resolved and every
address must be public; delivery checks again, since DNS can change, and
sends the request to the address it checked (``pinned_target``): an HTTP
client that resolved the name again could be sent elsewhere by then (DNS
rebinding), so the check would guard nothing.

>>> check_webhook_url("https://127.0.0.1/hook", allow_private=False)
Traceback (most recent call last):
...
registry.ssrf.UnsafeUrl: webhook host 127.0.0.1 is a loopback address; ...
>>> check_webhook_url("http://127.0.0.1:8765/hook", allow_private=True)
'http://127.0.0.1:8765/hook'
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

__all__ = ["MAX_URL_LENGTH", "PinnedTarget", "Resolver", "UnsafeUrl", "check_webhook_url",
           "pinned_target"]

MAX_URL_LENGTH = 2000

Resolver = Callable[[str], list[str]]


class UnsafeUrl(ValueError):
    """The URL is malformed or points where the platform must not send requests."""


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"webhook host {host} does not resolve ({exc})") from None
    # In the resolver's order, which prefers what this host can reach (RFC 6724).
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_webhook_url(url: str, *, allow_private: bool, resolve: Resolver = _resolve) -> str:
    """``url`` if it is a safe webhook target, else ``UnsafeUrl`` saying why."""
    parts = _parse(url)
    if not allow_private:
        _public_addresses(parts, resolve)
    return url


@dataclass(frozen=True, slots=True)
class PinnedTarget:
    """Where to send a webhook: ``addresses``, the public addresses the check passed, in the
    resolver's order, for the URL's own ``host`` (its Host header, and for https the name
    its certificate must carry)."""

    host: str
    addresses: tuple[str, ...]
    https: bool


def pinned_target(url: str, *, resolve: Resolver | None = None) -> PinnedTarget:
    """Check ``url`` as ``check_webhook_url(allow_private=False)`` does, resolving its host
    once (``resolve``: host name -> addresses; the system's resolver if None), and say which
    checked addresses to connect to.

    >>> pinned_target("https://8.8.8.8/hook").addresses
    ('8.8.8.8',)
    >>> pinned_target("https://hooks.bank.test/h", resolve=lambda h: ["10.0.0.7"])
    Traceback (most recent call last):
    ...
    registry.ssrf.UnsafeUrl: webhook host hooks.bank.test (10.0.0.7) is a private address; ...
    """
    parts = _parse(url)
    addresses = _public_addresses(parts, resolve or _resolve)
    return PinnedTarget(str(parts.hostname), tuple(str(a) for a in addresses),
                        parts.scheme == "https")


def _parse(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"webhook URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError as exc:
        raise UnsafeUrl(f"webhook URL is malformed: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("webhook URL must start with https:// (or http://)")
    if not parts.hostname:
        raise UnsafeUrl("webhook URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("webhook URL must not carry credentials; the signature authenticates")
    return parts


def _public_addresses(parts: SplitResult,
                      resolve: Resolver) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    host = str(parts.hostname)
    addresses = _addresses(host, resolve)
    for address in addresses:
        _check_address(host, address)
    return addresses


def _addresses(host: str, resolve: Resolver) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found = resolve(host)
    if not found:
        raise UnsafeUrl(f"webhook host {host} does not resolve")
    return [ipaddress.ip_address(a.split("%")[0]) for a in found]


def _check_address(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for label, bad in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                       ("private", address.is_private), ("multicast", address.is_multicast),
                       ("reserved", address.is_reserved or address.is_unspecified
                        or not address.is_global)):
        if bad:
            shown = host if host == str(address) else f"{host} ({address})"
            raise UnsafeUrl(f"webhook host {shown} is a {label} address; the platform does "
                            "not call private networks (CW_WEBHOOK_ALLOW_PRIVATE=1 allows it)")
