"""Building the platform's parts from one Settings object (no web server imports)."""

from __future__ import annotations

from typing import Any

from collateral.settings import Settings, parse_broker_url
from dashboards.deps import ApiOptions
from ingest.mqtt import MqttEndpoint
from ingest.service import IngestConfig
from ingest.store import TelemetryStore, open_store
from registry import Registry
from registry.broker_auth import BrokerAuth

__all__ = ["open_registry", "open_telemetry_store", "broker_endpoint", "ingest_config",
           "api_options", "broker_auth"]


def open_registry(settings: Settings) -> Registry:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Registry(settings.resolved_registry_url())


def open_telemetry_store(settings: Settings) -> TelemetryStore:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings.store_url, settings.data_dir)


def broker_endpoint(url: str, protocol: int = 4) -> MqttEndpoint:
    address = parse_broker_url(url)
    return MqttEndpoint(address.host, address.port, address.username, address.password, protocol)


def ingest_config(settings: Settings, **overrides: Any) -> IngestConfig:
    """The ingest worker's configuration from the settings; keyword arguments win."""
    from ingest.wire import Limits

    values: dict[str, Any] = {
        "partitions": settings.partitions, "batch_size": settings.ingest_batch,
        "flush_s": settings.ingest_flush_s, "spool_dir": settings.data_dir,
        "spool_max_bytes": settings.ingest_spool_max_mb << 20,
        "metrics_port": settings.ingest_metrics_port,
        "dead_letter_keep_days": settings.dead_letter_keep_days,
        "limits": Limits(max_future_skew_ms=int(settings.max_future_skew_s * 1000)),
    }
    return IngestConfig(**{**values, **overrides})


def broker_auth(settings: Settings) -> BrokerAuth | None:
    if settings.broker_password_file is None or settings.broker_acl_file is None:
        return None
    return BrokerAuth(settings.broker_password_file, settings.broker_acl_file,
                      settings.broker_pid_file)


def api_options(settings: Settings) -> ApiOptions:
    return ApiOptions(webhook_allow_private=settings.webhook_allow_private,
                      broker_auth=broker_auth(settings), total_partitions=settings.partitions)
