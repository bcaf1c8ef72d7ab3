"""Mosquitto's password file and ACL, kept by the platform from the device registry.

Each provisioned device connects with its id as the MQTT username and may
publish only ``telemetry/{id}`` and ``status/{id}`` (its last will); service
accounts (ingest, monitor) get the lines the operator gives them. The files
are rebuilt whole from the registry, written atomically, and the broker is
told to reload them with SIGHUP (found through its ``pid_file``).

Passwords are hashed the way Mosquitto 2 does (``$7$``: PBKDF2-HMAC-SHA512,
101 iterations, 12-byte salt), so the registry never keeps one in clear.

>>> verify_password("s3cret", hash_password("s3cret"))
True
>>> verify_password("guess", hash_password("s3cret"))
False
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from registry.db import Registry
from registry.models import Device

__all__ = ["BrokerAuth", "ServiceAccount", "hash_password", "verify_password",
           "new_password", "device_topics"]

log = logging.getLogger(__name__)

_ITERATIONS = 101  # Mosquitto 2.0's default for $7$
_SALT_BYTES = 12


def hash_password(password: str, *, salt: bytes | None = None,
                  iterations: int = _ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return (f"$7${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def verify_password(password: str, stored: str) -> bool:
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        again = hash_password(password, salt=base64.b64decode(salt), iterations=int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(again.rsplit("$", 1)[1], digest)


def new_password() -> str:
    return secrets.token_urlsafe(24)


def device_topics(device_id: str) -> list[str]:
    return [f"telemetry/{device_id}", f"status/{device_id}"]


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A platform service's broker login, e.g. ingest: ``read telemetry/#``."""

    username: str
    password_hash: str
    acl: Sequence[str] = ()  # Mosquitto ACL lines such as "topic read telemetry/#"


@dataclass
class BrokerAuth:
    """Where the broker's files live and how to make it reload them."""

    password_file: Path
    acl_file: Path
    pid_file: Path | None = None
    services: Sequence[ServiceAccount] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sync(self, registry: Registry) -> int:
        """Rebuild both files from the registry and reload the broker; returns device count."""
        with registry.session() as session:
            rows = session.execute(select(Device.id, Device.mqtt_password_hash)
                                   .where(Device.mqtt_password_hash.is_not(None))
                                   .order_by(Device.id)).all()
        devices = [(str(d), str(h)) for d, h in rows]
        with self._lock:  # two syncs must not interleave their writes
            _write_atomically(self.password_file, self._passwords(devices))
            _write_atomically(self.acl_file, self._acl([d for d, _ in devices]))
            self._reload()
        log.info("broker auth: %d devices, %d service accounts", len(devices), len(self.services))
        return len(devices)

    def _passwords(self, devices: list[tuple[str, str]]) -> str:
        lines = [f"{s.username}:{s.password_hash}" for s in self.services]
        lines += [f"{device_id}:{digest}" for device_id, digest in devices]
        return "".join(f"{line}\n" for line in lines)

    def _acl(self, devices: list[str]) -> str:
        blocks = [[f"user {s.username}", *s.acl] for s in self.services]
        blocks += [[f"user {d}", *(f"topic write {t}" for t in device_topics(d))]
                   for d in devices]
        return "\n".join("".join(f"{line}\n" for line in block) for block in blocks)

    def _reload(self) -> None:
        if self.pid_file is None:
            return
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError) as exc:
            # The files are right; the broker picks them up when it next (re)starts.
            log.warning("broker auth: could not signal the broker to reload: %s", exc)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
