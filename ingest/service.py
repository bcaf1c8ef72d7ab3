"""Ingest: MQTT telemetry -> validate -> dedup -> store (or spool) -> hand off -> ack.

The MQTT callback only hands the message to a queue (the network loop never
waits on a database); one writer thread decodes, batches, makes the batch
durable (``ingest.durable``: the store, or the local spool while the store is
down), hands it to the monitor, and only then acknowledges, so a crash before
that makes the broker redeliver. With ``share_group`` set, N workers split
``$share/{group}/telemetry/#`` (MQTT 5).
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import orjson
import paho.mqtt.client as mqtt
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ingest.deadletter import DeadLetterRecord, prune_dead_letters, save_dead_letters
from ingest.dedup import SeqLedger
from ingest.durable import DurableWriter, Outcome
from ingest.handoff import encode_handoff_groups, handoff_topic, partition_of
from ingest.metrics import IngestMetrics
from ingest.mqtt import MqttEndpoint, connect_bulk_consumer, stop_worker
from ingest.receive import BulkClient, Received
from ingest.spool import Spool
from ingest.store import Point, TelemetryStore
from ingest.wire import Limits, Rejection, RejectReason, WireFields, decode_fields
from registry import Registry
from registry.models import Device

__all__ = ["IngestConfig", "IngestStats", "IngestService", "tune_gc"]

log = logging.getLogger(__name__)

_PRUNE_EVERY_S = 3600.0

TELEMETRY_TOPICS = "telemetry/#"


@dataclass(frozen=True, slots=True)
class IngestConfig:
    client_id: str = "cw-ingest"
    #: MQTT 5 shared-subscription group: workers in one group split the telemetry.
    share_group: str | None = None
    partitions: int = 16
    batch_size: int = 5000
    #: Unacknowledged messages the broker may send us (MQTT 5 Receive Maximum), and the
    #: most we hold in memory. A batch closes at half of it, so the next batch arrives
    #: while one is written.
    inflight: int = 10_000
    flush_s: float = 0.2
    limits: Limits = Limits()
    device_refresh_s: float = 5.0
    #: Where the spool file lives (one per client id) and how large it may grow.
    spool_dir: Path = Path("var")
    spool_max_bytes: int = 1 << 30
    #: Serve Prometheus ``/metrics`` on this port (0: any free one; None: not at all).
    metrics_port: int | None = None
    #: Dead letters are deleted this many days after they came (checked hourly).
    dead_letter_keep_days: float = 90.0

    @property
    def subscription(self) -> str:
        if self.share_group:
            return f"$share/{self.share_group}/{TELEMETRY_TOPICS}"
        return TELEMETRY_TOPICS


@dataclass(slots=True)
class IngestStats:
    received: int = 0
    stored: int = 0
    spooled: int = 0
    batches: int = 0
    duplicates: int = 0
    handoff_failures: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {"received": self.received, "stored": self.stored, "spooled": self.spooled,
                "batches": self.batches, "duplicates": self.duplicates,
                "handoff_failures": self.handoff_failures,
                "dead_letters": dict(self.dead_letters)}




@dataclass(slots=True)
class _Batch:
    mids: list[tuple[int, int, int]] = field(default_factory=list)  # (generation, mid, qos)
    points: list[Point] = field(default_factory=list)
    #: (asset id, device id) -> wire-v1 reading dicts for the monitor
    handoff: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    dead: list[DeadLetterRecord] = field(default_factory=list)
    seen: dict[tuple[str, int], int] = field(default_factory=dict)  # (device, seq) -> ts_ms
    duplicates: int = 0
    newest_ms: int = 0


@dataclass(frozen=True, slots=True)
class _Pending:
    batch: _Batch
    outcome: Outcome
    infos: list[mqtt.MQTTMessageInfo]


#: Young-generation threshold for an ingest worker (CPython's default is 700).
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """For a process that runs ingest: the writer allocates several containers per reading
    (parsed dicts, fields, tuples, points), none in a reference cycle. At the default
    threshold a 5,000-reading batch set off dozens of collections, and the older
    generations' passes walked everything alive, imports included: about a third of the
    writer's CPU at 50 readings a message (benchmarks/bench_writer.py). Freeze what start-up
    made (modules, registry, clients: never garbage) and collect the young generation every
    50,000 allocations instead of 700; cycles are still collected, a little later."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


_STOP_WAIT_S = 10.0  # at stop, how long to wait for the broker to take the last hand-offs


class IngestService:
    def __init__(
        self,
        endpoint: MqttEndpoint,
        store: TelemetryStore,
        registry: Registry,
        config: IngestConfig = IngestConfig(),
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        if config.dead_letter_keep_days <= 0:
            raise ValueError("dead_letter_keep_days must be > 0")
        self.endpoint, self.store, self.registry, self.config = endpoint, store, registry, config
        self.stats = IngestStats()
        self.metrics = IngestMetrics()
        self.metrics_port: int | None = None
        self._clock_ms = clock_ms
        # Lists of messages as paho's thread read them, with their connection generation.
        self._inbox: queue.SimpleQueue[tuple[int, list[Received]]] = queue.SimpleQueue()
        self._queued = 0  # messages in the inbox
        self._queued_lock = threading.Lock()
        self._room = threading.Event()  # set when the inbox has room again
        self._stop = threading.Event()
        self._devices: dict[str, str] = {}
        self._devices_loaded_at = 0.0
        self._ledger = SeqLedger()
        self._pending: deque[_Pending] = deque()
        self._spool = Spool(config.spool_dir / f"spool-{config.client_id}.bin",
                            config.spool_max_bytes)
        self._durable = DurableWriter(store, self._spool, self.metrics, self._dead_letter_refused)
        self._client: BulkClient | None = None
        self._worker = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="ingest-store")
        self._writing: _Batch | None = None  # handed to the store thread, not yet back
        self._pruned_at = -_PRUNE_EVERY_S  # monotonic; prune at the first chance

    def start(self) -> None:
        self._load_devices()
        if self.config.metrics_port is not None:
            self.metrics_port = self.metrics.serve(self.config.metrics_port)
        self._client = connect_bulk_consumer(
            self.endpoint, self.config.client_id, [self.config.subscription], self._enqueue,
            max_inflight=self.config.inflight,
        )
        self._worker.start()

    def stop(self) -> None:
        """Flush what has been received, then disconnect."""
        stop_worker(self._stop, self._worker, self._client)
        self._store_thread.shutdown()
        self._spool.close()
        self.metrics.close()

    def _enqueue(self, generation: int, messages: list[Received]) -> None:
        """Runs in paho's network thread: a full inbox holds it, so it stops reading the
        socket and TCP pushes back on the broker (Mosquitto before 2.0.17 does not apply
        max_inflight_messages, so it would otherwise send the whole backlog at once)."""
        while self._queued >= self.config.inflight and not self._stop.is_set():
            self._room.clear()
            if self._queued >= self.config.inflight:
                self._room.wait(0.05)  # bounded: a take may slip between check and clear
        with self._queued_lock:
            self._queued += len(messages)
        self._inbox.put((generation, messages))

    def _take(self, timeout: float) -> tuple[int, list[Received]]:
        item = self._inbox.get(timeout=timeout)
        with self._queued_lock:
            self._queued -= len(item[1])
        if self._queued < self.config.inflight:
            self._room.set()
        return item

    # -- writer thread -------------------------------------------------

    def _run(self) -> None:
        """Decode the next batch while the store writes the last one (one write at a time,
        in order); hand a batch off and acknowledge it only once its write returned."""
        writing: tuple[_Batch, Future[Outcome]] | None = None
        while True:
            batch = self._collect(writing)
            if writing is not None:
                self._finish(*writing)
                writing = None
            if batch.mids:
                self._writing = batch
                writing = batch, self._store_thread.submit(self._durable.write, batch.points)
            else:
                self._durable.replay()
            self._ack_handed_off()
            self._prune_dead_letters()
            if writing is None and self._stop.is_set() and self._inbox.empty():
                self._ack_handed_off(block=True)
                return

    def _collect(self, writing: tuple[_Batch, Future[Outcome]] | None) -> _Batch:
        """Messages until the batch is full or ``flush_s`` after its first one; an empty
        batch as soon as a write in progress ends with nothing new to read."""
        batch = _Batch()
        deadline = time.monotonic() + self.config.flush_s
        try:
            while True:
                try:
                    self._accept_all(*self._take(0.005 if writing else self.config.flush_s),
                                     batch)
                    break
                except queue.Empty:
                    if writing is None or writing[1].done() or time.monotonic() > deadline:
                        raise
        except queue.Empty:
            return batch
        deadline = time.monotonic() + self.config.flush_s
        max_messages = max(1, self.config.inflight // 2)
        while len(batch.points) < self.config.batch_size and len(batch.mids) < max_messages:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                self._accept_all(*self._take(timeout), batch)
            except queue.Empty:
                break
        return batch

    def _accept_all(self, generation: int, messages: list[Received], batch: _Batch) -> None:
        now_ms = self._clock_ms()
        for message in messages:
            self._accept(generation, message, batch, now_ms)

    def _accept(self, generation: int, message: Received, batch: _Batch, now_ms: int) -> None:
        batch.mids.append((generation, message.mid, message.qos))
        payload, topic, dup = message.payload, message.topic, message.dup
        decoded = decode_fields(topic, payload, now_ms, self.config.limits)
        for rejection in decoded.rejections:
            batch.dead.append(DeadLetterRecord(topic, rejection, dup))
        if not decoded.readings:
            return
        device_id = cast(str, decoded.device_id)  # set whenever there are readings
        asset_id = self._asset_of(device_id)
        if asset_id is None:
            reason = Rejection(RejectReason.UNKNOWN_DEVICE, "device is not registered",
                               payload, device_id)
            batch.dead.append(DeadLetterRecord(topic, reason, dup))
            return
        wire: list[dict[str, Any]] | None = None
        points, seen = batch.points, batch.seen
        # Where an earlier copy of a reading can be, fetched once a message, in the order
        # _admit asks: the batch being written, batches stored but not yet acknowledged,
        # then the ledger of acknowledged ones. A reading found in none is new.
        older = [] if self._writing is None else [self._writing.seen]
        older.extend(pending.batch.seen for pending in self._pending)
        recorded = self._ledger.recent(device_id)
        for seq, ts_ms, values, item in decoded.readings:
            key = (device_id, seq)
            if key in seen or (recorded is not None and seq in recorded) or (
                    older and any(key in other for other in older)):
                if not self._admit(key, ts_ms, values, batch, older, recorded, topic, dup):
                    continue
            else:
                seen[key] = ts_ms
            points.append(Point(asset_id, device_id, ts_ms, seq, values))
            if wire is None:
                wire = batch.handoff.setdefault((asset_id, device_id), [])
            wire.append(item)  # validated: the monitor gets it as the device sent it
            if ts_ms > batch.newest_ms:
                batch.newest_ms = ts_ms

    def _admit(self, key: tuple[str, int], ts_ms: int, values: WireFields, batch: _Batch,
               older: list[dict[tuple[str, int], int]], recorded: Mapping[int, int] | None,
               topic: str, dup: bool) -> bool:
        """New readings pass; a redelivered one is counted; a replayed seq is a dead letter.

        ``older`` and ``recorded`` are where ``_accept`` found a possible earlier copy."""
        device_id, seq = key
        seen_ts = batch.seen.get(key)
        for other in older:
            if seen_ts is not None:
                break
            seen_ts = other.get(key)
        if seen_ts is None and recorded is not None:
            seen_ts = recorded.get(key[1])
        if seen_ts is None:
            batch.seen[key] = ts_ms
            return True
        if seen_ts == ts_ms:
            batch.duplicates += 1
            return False
        detail = f"seq {seq} was seen at ts_ms {seen_ts}, now at {ts_ms}"
        raw = orjson.dumps({"seq": seq, "ts_ms": ts_ms, **values})
        batch.dead.append(DeadLetterRecord(topic, Rejection(
            RejectReason.REPLAYED_SEQ, detail, raw, device_id), dup))
        return False

    def _finish(self, batch: _Batch, write: Future[Outcome]) -> None:
        """After the batch's write: dead letters, then the hand-off; acks follow it."""
        outcome = write.result()
        self._writing = None
        if outcome.refused is not None:
            batch.dead.extend(_refused(batch.points, outcome.refused))
            batch.handoff.clear()
        self._save_dead(batch.dead)
        self._pending.append(_Pending(batch, outcome, self._hand_off(batch.handoff)))
        self._ack_handed_off()

    def _ack_handed_off(self, block: bool = False) -> None:
        """Acknowledge, oldest first, the batches whose hand-off the broker has.

        A hand-off that failed (the connection broke) leaves its batch
        unacknowledged: the broker redelivers it after the reconnect, the store
        takes it again (idempotent) and the monitor drops what it has seen.
        """
        assert self._client is not None
        deadline = time.monotonic() + _STOP_WAIT_S
        while self._pending:
            pending = self._pending[0]
            try:
                for info in pending.infos:
                    while block and not info.is_published() and time.monotonic() < deadline:
                        info.wait_for_publish(timeout=0.5)
                    if not info.is_published():
                        return
            except (RuntimeError, ValueError) as exc:
                self.stats.handoff_failures += 1
                log.warning("hand-off to the monitor failed (%s); %d readings stay "
                            "unacknowledged and the broker will redeliver them", exc,
                            len(pending.batch.points))
            else:
                self._ack(pending.batch.mids)
                self._ledger.record_many(pending.batch.seen)
                self._count(pending.batch, pending.outcome)
            self._pending.popleft()

    def _ack(self, mids: list[tuple[int, int, int]]) -> None:
        """One write per connection generation; acks of an earlier connection are dropped
        (``ingest.receive``): the broker redelivers those and dedup drops them."""
        assert self._client is not None
        by_generation: dict[int, list[int]] = {}
        for generation, mid, qos in mids:
            if qos == 1:
                by_generation.setdefault(generation, []).append(mid)
        for generation, group in by_generation.items():
            if not self._client.ack_many(generation, group):
                log.info("%d messages from an earlier connection stay unacknowledged; the "
                         "broker redelivers them", len(group))

    def _dead_letter_refused(self, points: Sequence[Point], detail: str) -> None:
        self._save_dead(_refused(points, detail))

    def _count(self, batch: _Batch, outcome: Outcome) -> None:
        m, stats = self.metrics, self.stats
        m.received.inc(len(batch.mids))
        m.acked.inc(len(batch.mids))
        m.duplicates.inc(batch.duplicates)
        stats.received += len(batch.mids)
        stats.duplicates += batch.duplicates
        stats.batches += 1
        if outcome.spooled:
            stats.spooled += len(batch.points)
        elif outcome.refused is None:
            stats.stored += len(batch.points)
        if batch.newest_ms:
            m.lag_seconds.observe(max(0.0, (self._clock_ms() - batch.newest_ms) / 1000))

    def _save_dead(self, records: list[DeadLetterRecord]) -> None:
        delay = 0.5
        while records:
            try:
                kept = save_dead_letters(self.registry, records)
                self.stats.dead_letters.update(r.rejection.reason.value for r in kept)
                for r in kept:
                    self.metrics.dead_letters.labels(r.rejection.reason.value).inc()
                for r in kept:
                    log.info("dead letter %s from %s: %s", r.rejection.reason.value, r.topic,
                             r.rejection.detail)
                return
            except Exception:  # the registry is down: keep them, do not ack
                log.exception("cannot save %d dead letters; retrying", len(records))
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _hand_off(self, groups: dict[tuple[str, str], list[dict[str, Any]]]
                  ) -> list[mqtt.MQTTMessageInfo]:
        """Publish to the monitor, partitioned by asset; the broker acknowledges later."""
        assert self._client is not None
        by_partition: dict[int, dict[tuple[str, str], list[dict[str, Any]]]] = {}
        for key, readings in groups.items():
            part = partition_of(key[0], self.config.partitions)
            by_partition.setdefault(part, {})[key] = readings
        return [self._client.publish(handoff_topic(p), encode_handoff_groups(group), qos=1)
                for p, group in by_partition.items()]

    def _prune_dead_letters(self) -> None:
        """Hourly, delete the dead letters past their keeping (any worker may: it is the
        same delete)."""
        now = time.monotonic()
        if now - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = now
        keep = timedelta(days=self.config.dead_letter_keep_days)
        try:
            pruned = prune_dead_letters(self.registry, datetime.now(UTC) - keep)
        except SQLAlchemyError:
            log.exception("cannot prune dead letters; trying again in an hour")
            return
        if pruned:
            log.info("dead letters: %d older than %s deleted", pruned, keep)

    def _asset_of(self, device_id: str) -> str | None:
        asset = self._devices.get(device_id)
        if asset is None and (
                time.monotonic() - self._devices_loaded_at > self.config.device_refresh_s):
            self._load_devices()
            asset = self._devices.get(device_id)
        return asset

    def _load_devices(self) -> None:
        with self.registry.session() as session:
            rows = session.execute(select(Device.id, Device.asset_id)).all()
        self._devices = {device: asset for device, asset in rows}
        self._devices_loaded_at = time.monotonic()


def _refused(points: Sequence[Point], detail: str) -> list[DeadLetterRecord]:
    return [
        DeadLetterRecord(
            f"telemetry/{p.device_id}",
            Rejection(RejectReason.STORE_REJECTED, detail,
                      orjson.dumps({"seq": p.seq, "ts_ms": p.ts_ms, **p.fields}), p.device_id),
        )
        for p in points
    ]
