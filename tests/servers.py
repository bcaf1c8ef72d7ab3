"""Real servers for tests: InfluxDB 1.x and Mosquitto on free ports in temp dirs.

Each handle is a context manager that starts the server, waits until it
answers, and stops it on exit. ``stop()``/``start()`` restart the same server
(same port, same data) and ``kill()`` kills it, for fault tests.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx
import pytest

__all__ = [
    "INFLUXD",
    "MOSQUITTO",
    "ServerError",
    "ServerProcess",
    "InfluxHandle",
    "MosquittoHandle",
    "find_binary",
    "free_port",
    "require_binary",
    "start_influxd",
    "start_mosquitto",
]

logger = logging.getLogger(__name__)

INFLUXD = "influxd"
MOSQUITTO = "mosquitto"

_DEFAULT_PATHS = {INFLUXD: "/usr/bin/influxd", MOSQUITTO: "/usr/sbin/mosquitto"}
_ENV_PATHS = {INFLUXD: "CW_INFLUXD", MOSQUITTO: "CW_MOSQUITTO"}
# The system services of this machine (and common defaults elsewhere): never ours.
_RESERVED_PORTS = frozenset({1883, 8083, 8086, 8088, 8883})
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0


class ServerError(RuntimeError):
    """A test server did not start or stop as expected."""


def find_binary(name: str) -> str | None:
    """The server binary: ``$CW_INFLUXD``/``$CW_MOSQUITTO``, the Debian path, or ``$PATH``."""
    configured = os.environ.get(_ENV_PATHS[name])
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    default = _DEFAULT_PATHS[name]
    if os.access(default, os.X_OK):
        return default
    return shutil.which(name)


def require_binary(name: str) -> str:
    """The binary's path, or skip the test; fail instead under ``CW_REQUIRE_SERVERS=1``."""
    path = find_binary(name)
    if path is not None:
        return path
    package = "influxdb" if name == INFLUXD else name
    message = f"{name} is not installed (apt-get install {package}, or set {_ENV_PATHS[name]})"
    if os.environ.get("CW_REQUIRE_SERVERS", "") not in ("", "0"):
        pytest.fail(f"{message}, and CW_REQUIRE_SERVERS is set", pytrace=False)
    pytest.skip(message)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (racy, but fine for tests)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in _RESERVED_PORTS:
            return port


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerProcess:
    """One server process with its log file; restartable with the same command."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def spawn(self) -> None:
        if self.running:
            raise ServerError(f"{self.name} is already running")
        self._reap()
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, ready: Callable[[], bool], timeout_s: float = _START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(f"{self.name} exited at start:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.05)
        self.kill()
        raise ServerError(f"{self.name} not ready after {timeout_s}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM and wait (a clean shutdown that flushes data); SIGKILL if it hangs."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("%s ignored SIGTERM for %ss: killing it", self.name, _STOP_TIMEOUT_S)
        self.kill()

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown work."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self._reap()

    def _reap(self) -> None:
        # Waiting and closing here keeps ResourceWarnings (warnings are errors) away.
        if self._proc is not None:
            self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class _Handle:
    """Shared lifecycle of the server handles."""

    _server: ServerProcess

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        """Start (or restart after ``stop``/``kill``) with the same port and data."""
        self._server.spawn()
        self._server.wait_ready(self._ready)

    def stop(self) -> None:
        self._server.stop()

    def kill(self) -> None:
        self._server.kill()

    @property
    def running(self) -> bool:
        return self._server.running

    def log_tail(self, lines: int = 40) -> str:
        return self._server.log_tail(lines)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class InfluxHandle(_Handle):
    """An ``influxd`` (1.x) on 127.0.0.1 with its data under ``root``."""

    host = "127.0.0.1"

    def __init__(self, binary: str, root: Path, database: str = "collateral") -> None:
        self.root = root
        self.port = free_port()
        self.rpc_port = free_port()
        self.database = database
        self.config_path = root / "influxdb.conf"
        self.config_path.write_text(self._config())
        argv = [binary, "-config", str(self.config_path)]
        self._server = ServerProcess(INFLUXD, argv, root / "influxd.log")

    @property
    def url(self) -> str:
        """The ``open_store`` URL of this server's ``collateral`` database."""
        return f"influxdb://{self.host}:{self.port}/{self.database}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _config(self) -> str:
        # graphite, collectd, opentsdb and udp listeners are off unless configured.
        return f"""\
reporting-disabled = true
bind-address = "{self.host}:{self.rpc_port}"

[meta]
  dir = "{self.root / "meta"}"
  logging-enabled = false

[data]
  dir = "{self.root / "data"}"
  wal-dir = "{self.root / "wal"}"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{self.host}:{self.port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[logging]
  level = "warn"
"""

    def _ready(self) -> bool:
        try:
            response = httpx.get(f"{self.http_url}/ping", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 204


class MosquittoHandle(_Handle):
    """A ``mosquitto`` on 127.0.0.1 with persistence under ``root``."""

    host = "127.0.0.1"

    def __init__(self, binary: str, root: Path, extra_conf: str = "") -> None:
        self.root = root
        self.port = free_port()
        self.config_path = root / "mosquitto.conf"
        self.config_path.write_text(self._config(extra_conf))
        argv = [binary, "-c", str(self.config_path)]
        self._server = ServerProcess(MOSQUITTO, argv, root / "mosquitto.log")

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _config(self, extra_conf: str) -> str:
        store = self.root / "persistence"
        store.mkdir(exist_ok=True)
        # Started as root, mosquitto drops to user "mosquitto", which could not
        # write our temp dir: stay the user we are (ignored when not root).
        user = pwd.getpwuid(os.geteuid()).pw_name
        return (
            f"user {user}\n"
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {store}/\n"
            "log_dest stderr\n"
            f"{extra_conf.strip()}\n"
        )

    def _ready(self) -> bool:
        return _port_open(self.host, self.port)


def start_influxd(tmp_path: Path, binary: str | None = None) -> InfluxHandle:
    """Start ``influxd`` with data under ``tmp_path``; use as a context manager."""
    handle = InfluxHandle(_require(INFLUXD, binary), _server_dir(tmp_path, INFLUXD))
    handle.start()
    logger.info("influxd ready on port %d", handle.port)
    return handle


def start_mosquitto(
    tmp_path: Path, extra_conf: str = "", binary: str | None = None
) -> MosquittoHandle:
    """Start ``mosquitto`` with persistence under ``tmp_path``; use as a context manager."""
    root = _server_dir(tmp_path, MOSQUITTO)
    handle = MosquittoHandle(_require(MOSQUITTO, binary), root, extra_conf)
    handle.start()
    logger.info("mosquitto ready on port %d", handle.port)
    return handle


def _require(name: str, binary: str | None) -> str:
    found = binary or find_binary(name)
    if found is None:
        raise ServerError(f"{name} binary not found (set {_ENV_PATHS[name]})")
    return found


def _server_dir(tmp_path: Path, name: str) -> Path:
    # A fresh dir per start so two servers can share one tmp_path.
    root = tmp_path / name
    suffix = 1
    while root.exists():
        suffix += 1
        root = tmp_path / f"{name}-{suffix}"
    root.mkdir(parents=True)
    return root
