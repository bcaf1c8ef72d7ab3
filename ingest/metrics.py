"""Prometheus metrics of one ingest worker, served on ``/metrics`` when a port is given.

Each worker has its own ``CollectorRegistry``, so several services in one
process (tests, the demo) never collide on metric names.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["IngestMetrics"]

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400)


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("cw_ingest_messages_received", "MQTT messages received",
                                registry=r)
        self.stored = Counter("cw_ingest_readings_stored", "readings written to the store "
                              "(directly or replayed from the spool)", registry=r)
        self.spooled = Counter("cw_ingest_readings_spooled",
                               "readings written to the local spool", registry=r)
        self.dead_letters = Counter("cw_ingest_dead_letters", "dead letters kept, by reason",
                                    ["reason"], registry=r)
        self.duplicates = Counter("cw_ingest_duplicates", "redelivered readings dropped "
                                  "(same device, sequence number and time)", registry=r)
        self.acked = Counter("cw_ingest_messages_acked", "messages acknowledged to the broker",
                             registry=r)
        self.spool_depth = Gauge("cw_ingest_spool_depth_readings",
                                 "readings in the spool waiting for the store", registry=r)
        self.spool_bytes = Gauge("cw_ingest_spool_bytes", "size of the spool file", registry=r)
        self.spool_full = Gauge("cw_ingest_spool_full", "1 while the spool is full and ingest "
                                "stops acknowledging (the broker holds the backlog)", registry=r)
        self.write_seconds = Histogram("cw_ingest_store_write_seconds", "one batch write to the "
                                       "store", buckets=_LATENCY_BUCKETS, registry=r)
        self.lag_seconds = Histogram("cw_ingest_lag_seconds", "device time to acknowledged, per "
                                     "batch (its newest reading)", buckets=_LAG_BUCKETS,
                                     registry=r)
        self._server: Any = None

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics``; port 0 picks a free one. Returns the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        bound: int = server.server_address[1]
        log.info("ingest metrics on http://%s:%d/metrics", host, bound)
        return bound

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
