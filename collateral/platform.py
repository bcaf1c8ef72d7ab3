"""Wiring: build the platform's parts from one Settings object and run them together.

``Platform`` is what ``collateral run`` and ``collateral demo`` start: the
broker (embedded unless CW_BROKER_URL is set), ingest, monitor, the webhook
dispatcher and the API, each in its own thread of one process.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, field

import uvicorn

from collateral.broker import EmbeddedBroker, free_port
from collateral.settings import Settings
from collateral.wiring import (
    api_options,
    broker_endpoint,
    ingest_config,
    open_registry,
    open_telemetry_store,
)
from dashboards.app import create_app
from ingest.service import IngestService
from ingest.store import TelemetryStore
from monitor.coverage_watch import CoverageWatch
from monitor.service import MonitorConfig, MonitorService
from monitor.webhooks import WebhookDispatcher
from registry import Registry

__all__ = ["Platform"]

log = logging.getLogger(__name__)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


@dataclass
class Platform:
    settings: Settings
    broker: EmbeddedBroker | None = None
    registry: Registry | None = None
    store: TelemetryStore | None = None
    ingest: IngestService | None = None
    monitor: MonitorService | None = None
    dispatcher: WebhookDispatcher | None = None
    api_url: str = ""
    broker_url: str = ""
    demo_token: str = ""
    _server: uvicorn.Server | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop_dispatch: threading.Event = field(default_factory=threading.Event)

    def start_broker(self) -> str:
        if self.settings.broker_url:
            self.broker_url = self.settings.broker_url
        else:
            self.broker = EmbeddedBroker()
            self.broker_url = self.broker.start()
        return self.broker_url

    def start_services(self) -> None:
        """Ingest, monitor, webhook dispatcher and API; the broker must be up."""
        self.registry = self.registry or open_registry(self.settings)
        self.store = self.store or open_telemetry_store(self.settings)
        endpoint = broker_endpoint(self.broker_url)
        self.ingest = IngestService(endpoint, self.store, self.registry,
                                    ingest_config(self.settings))
        self.ingest.start()
        self.monitor = MonitorService(endpoint, self.registry,
                                      MonitorConfig(total_partitions=self.settings.partitions))
        self.monitor.start()
        self.dispatcher = WebhookDispatcher(
            self.registry, allow_private=self.settings.webhook_allow_private,
            keep_days=self.settings.webhook_keep_days,
            coverage=CoverageWatch(self.registry, self.settings.partitions))
        self._spawn("webhooks", lambda: self.dispatcher.run_forever(self._stop_dispatch)
                    if self.dispatcher else None)
        self._start_api()

    def _start_api(self) -> None:
        assert self.registry is not None and self.store is not None
        host, port = self.settings.api_host, self.settings.api_port
        if port == 0 or not _port_free(host, port):
            chosen = free_port(host)
            if port:
                log.warning("port %d is taken; the API listens on %d instead", port, chosen)
            port = chosen
        app = create_app(self.registry, self.store, options=api_options(self.settings))
        config = uvicorn.Config(app, host=host, port=port,
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._spawn("api", self._server.run)
        self.api_url = f"http://{host}:{port}"
        log.info("API and dashboard on %s (OpenAPI docs at %s/docs)", self.api_url, self.api_url)

    def _spawn(self, name: str, target: object) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop in data-flow order so every received message is handled first."""
        if self.ingest is not None:
            self.ingest.stop()
        if self.monitor is not None:
            self.monitor.stop()
        self._stop_dispatch.set()
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=15)
        if self.broker is not None:
            self.broker.stop()
        if self.store is not None:
            self.store.close()
        if self.registry is not None:
            self.registry.close()
