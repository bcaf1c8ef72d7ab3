"""One typed settings object per process, read once at start (env prefix ``CW_``).

Defaults serve the embedded mode: no broker, InfluxDB or database installed.
Command-line flags override the environment.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "BrokerAddress", "parse_broker_url"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CW_", extra="ignore")

    #: ``mqtt://user:pass@host:port``; unset means the embedded broker.
    broker_url: str | None = None
    #: ``influxdb://user:pass@host:8086/db``; unset means the embedded store.
    store_url: str | None = None
    #: A SQLAlchemy URL; unset means ``sqlite:///<data_dir>/registry.db``.
    registry_url: str | None = None
    data_dir: Path = Path("var")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    #: Monitor hand-off partitions; each monitor worker owns a subset.
    partitions: int = Field(default=16, ge=1, le=4096)
    #: How far a device clock may run ahead of ours before a reading is refused.
    max_future_skew_s: float = Field(default=300.0, ge=0)
    ingest_batch: int = Field(default=5000, ge=1)
    ingest_flush_s: float = Field(default=0.2, gt=0)
    #: Local spool for readings while the store is down (in data_dir); full = stop acking.
    ingest_spool_max_mb: int = Field(default=1024, ge=1)
    #: Serve ingest's Prometheus ``/metrics`` on this port (unset: not served).
    ingest_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    log_level: str = "INFO"
    # Registry API and device provisioning (issue 6).
    #: Let webhook URLs point at loopback or private networks (tests, the demo).
    webhook_allow_private: bool = False
    #: Delivered, failed and skipped webhook events are deleted this many days after made.
    webhook_keep_days: float = Field(default=90.0, gt=0)
    #: Dead letters (rejected input, raw bytes kept) are deleted this many days after they came.
    dead_letter_keep_days: float = Field(default=90.0, gt=0)
    #: Mosquitto files the platform keeps from the device registry (unset: no broker auth).
    broker_password_file: Path | None = None
    broker_acl_file: Path | None = None
    #: Mosquitto's pid_file, to send it SIGHUP after a change.
    broker_pid_file: Path | None = None

    @field_validator("broker_url", "store_url", "registry_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def resolved_registry_url(self) -> str:
        if self.registry_url:
            return self.registry_url
        return f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"


class BrokerAddress:
    __slots__ = ("host", "port", "username", "password")

    def __init__(self, host: str, port: int, username: str | None, password: str | None) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password

    def __repr__(self) -> str:  # never show the password
        return f"BrokerAddress({self.host!r}, {self.port})"


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:port]`` to an address.

    >>> parse_broker_url("mqtt://u:p@127.0.0.1:1884")
    BrokerAddress('127.0.0.1', 1884)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"broker URL must start with mqtt:// (got scheme {parts.scheme!r})")
    if not parts.hostname:
        raise ValueError("broker URL has no host")
    return BrokerAddress(parts.hostname, parts.port or 1883, parts.username, parts.password)
