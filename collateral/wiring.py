"""Building the platform's parts from one Settings object (no web server imports)."""

from __future__ import annotations

from collateral.settings import Settings, parse_broker_url
from ingest.mqtt import MqttEndpoint
from ingest.store import TelemetryStore, open_store
from registry import Registry

__all__ = ["open_registry", "open_telemetry_store", "broker_endpoint"]


def open_registry(settings: Settings) -> Registry:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Registry(settings.resolved_registry_url())


def open_telemetry_store(settings: Settings) -> TelemetryStore:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings.store_url, settings.data_dir)


def broker_endpoint(url: str, protocol: int = 4) -> MqttEndpoint:
    address = parse_broker_url(url)
    return MqttEndpoint(address.host, address.port, address.username, address.password, protocol)
