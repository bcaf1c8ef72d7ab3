"""Ingest: MQTT telemetry -> validate -> store -> hand off to the monitor -> ack.

The MQTT callback only hands the message to a queue (the network loop never
waits on a database); one writer thread decodes, batches, writes, and only
then acknowledges, so a crash before the write makes the broker redeliver.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import paho.mqtt.client as mqtt
from sqlalchemy import select

from ingest.deadletter import DeadLetterRecord, save_dead_letters
from ingest.handoff import AssetReading, encode_handoff, handoff_topic, partition_of
from ingest.mqtt import MqttEndpoint, connect_consumer, stop_worker
from ingest.store import Point, StoreError, StoreUnavailable, TelemetryStore
from ingest.wire import Limits, Rejection, RejectReason, decode_message, reading_to_wire
from registry import Registry
from registry.models import Device

__all__ = ["IngestConfig", "IngestStats", "IngestService"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    client_id: str = "cw-ingest"
    subscription: str = "telemetry/+"
    partitions: int = 16
    batch_size: int = 5000
    flush_s: float = 0.2
    limits: Limits = Limits()
    device_refresh_s: float = 5.0


@dataclass(slots=True)
class IngestStats:
    received: int = 0
    stored: int = 0
    batches: int = 0
    duplicates: int = 0
    store_retries: int = 0
    handoff_failures: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {"received": self.received, "stored": self.stored, "batches": self.batches,
                "duplicates": self.duplicates, "store_retries": self.store_retries,
                "handoff_failures": self.handoff_failures,
                "dead_letters": dict(self.dead_letters)}


@dataclass(slots=True)
class _Batch:
    mids: list[tuple[int, int]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    handoff: list[AssetReading] = field(default_factory=list)
    dead: list[DeadLetterRecord] = field(default_factory=list)
    started: float = 0.0


class IngestService:
    def __init__(
        self,
        endpoint: MqttEndpoint,
        store: TelemetryStore,
        registry: Registry,
        config: IngestConfig = IngestConfig(),
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.endpoint, self.store, self.registry, self.config = endpoint, store, registry, config
        self.stats = IngestStats()
        self._clock_ms = clock_ms
        self._inbox: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._devices: dict[str, str] = {}
        self._devices_loaded_at = 0.0
        self._client: mqtt.Client | None = None
        self._worker = threading.Thread(target=self._run, name="ingest-writer", daemon=True)

    def start(self) -> None:
        self._load_devices()
        self._client = connect_consumer(
            self.endpoint, self.config.client_id, [self.config.subscription], self._inbox.put
        )
        self._worker.start()

    def stop(self) -> None:
        """Flush what has been received, then disconnect."""
        stop_worker(self._stop, self._worker, self._client)

    # -- writer thread -------------------------------------------------

    def _run(self) -> None:
        batch = _Batch(started=time.monotonic())
        while True:
            timeout = max(0.0, self.config.flush_s - (time.monotonic() - batch.started))
            try:
                self._accept(self._inbox.get(timeout=timeout), batch)
            except queue.Empty:
                pass
            full = len(batch.points) >= self.config.batch_size
            due = time.monotonic() - batch.started >= self.config.flush_s
            if batch.mids and (full or due):
                self._flush(batch)
                batch = _Batch(started=time.monotonic())
            elif not batch.mids:
                batch.started = time.monotonic()
            if self._stop.is_set() and self._inbox.empty():
                if batch.mids:
                    self._flush(batch)
                return

    def _accept(self, message: mqtt.MQTTMessage, batch: _Batch) -> None:
        self.stats.received += 1
        batch.mids.append((message.mid, message.qos))
        payload = cast(bytes, message.payload)  # paho hands us bytes
        decoded = decode_message(message.topic, payload, self._clock_ms(), self.config.limits)
        for rejection in decoded.rejections:
            batch.dead.append(DeadLetterRecord(message.topic, rejection, bool(message.dup)))
        if not decoded.readings:
            return
        asset_id = self._asset_of(decoded.readings[0].device_id)
        if asset_id is None:
            reason = Rejection(RejectReason.UNKNOWN_DEVICE, "device is not registered",
                               payload, decoded.device_id)
            batch.dead.append(DeadLetterRecord(message.topic, reason, bool(message.dup)))
            return
        for reading in decoded.readings:
            batch.points.append(Point(asset_id, reading.device_id, reading.ts_ms, reading.seq,
                                      reading.fields()))
            batch.handoff.append(AssetReading(asset_id, reading))

    def _flush(self, batch: _Batch) -> None:
        self._write_points(batch)
        self._save_dead(batch.dead)
        if not self._hand_off(batch.handoff):
            return
        assert self._client is not None
        for mid, qos in batch.mids:
            if qos > 0:
                self._client.ack(mid, qos)
        self.stats.batches += 1

    def _write_points(self, batch: _Batch) -> None:
        delay = 0.5
        while batch.points:
            try:
                started = time.perf_counter()
                self.store.write(batch.points)
                log.debug("stored %d points in %.1f ms", len(batch.points),
                          (time.perf_counter() - started) * 1000)
                self.stats.stored += len(batch.points)
                return
            except StoreUnavailable as exc:
                # Not acknowledged: the broker keeps the messages while we wait.
                self.stats.store_retries += 1
                log.warning("store unavailable (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
            except StoreError as exc:
                log.error("store refused a batch of %d points: %s", len(batch.points), exc)
                batch.dead.extend(_refused(batch, str(exc)))
                batch.points.clear()
                batch.handoff.clear()

    def _save_dead(self, records: list[DeadLetterRecord]) -> None:
        delay = 0.5
        while records:
            try:
                kept = save_dead_letters(self.registry, records)
                self.stats.dead_letters.update(r.rejection.reason.value for r in kept)
                for r in kept:
                    log.info("dead letter %s from %s: %s", r.rejection.reason.value, r.topic,
                             r.rejection.detail)
                return
            except Exception:  # the registry is down: keep them, do not ack
                log.exception("cannot save %d dead letters; retrying", len(records))
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _hand_off(self, items: list[AssetReading]) -> bool:
        """Publish to the monitor and wait for the broker to have it.

        False when the connection broke: the batch then stays unacknowledged, the
        broker redelivers it after the reconnect, the store takes it again
        (idempotent) and the monitor drops the readings it has already seen.
        """
        assert self._client is not None
        by_partition: dict[int, list[AssetReading]] = {}
        for item in items:
            part = partition_of(item.asset_id, self.config.partitions)
            by_partition.setdefault(part, []).append(item)
        infos = [self._client.publish(handoff_topic(p), encode_handoff(group), qos=1)
                 for p, group in by_partition.items()]
        try:
            for info in infos:
                while not info.is_published():
                    info.wait_for_publish(timeout=5)
        except (RuntimeError, ValueError) as exc:
            self.stats.handoff_failures += 1
            log.warning("hand-off to the monitor failed (%s); %d readings stay unacknowledged "
                        "and the broker will redeliver them", exc, len(items))
            return False
        return True

    def _asset_of(self, device_id: str) -> str | None:
        asset = self._devices.get(device_id)
        stale = time.monotonic() - self._devices_loaded_at > self.config.device_refresh_s
        if asset is None and stale:
            self._load_devices()
            asset = self._devices.get(device_id)
        return asset

    def _load_devices(self) -> None:
        with self.registry.session() as session:
            rows = session.execute(select(Device.id, Device.asset_id)).all()
        self._devices = {device: asset for device, asset in rows}
        self._devices_loaded_at = time.monotonic()


def _refused(batch: _Batch, detail: str) -> list[DeadLetterRecord]:
    return [
        DeadLetterRecord(
            f"telemetry/{item.reading.device_id}",
            Rejection(RejectReason.STORE_REJECTED, detail[:500],
                      json.dumps(reading_to_wire(item.reading)).encode(),
                      item.reading.device_id),
        )
        for item in batch.handoff
    ]
