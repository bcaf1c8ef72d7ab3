"""The monitor worker: hand-off readings -> detectors -> alert lifecycle -> SQL.

It owns a set of hand-off partitions, so each asset's detector state lives
in one process. Time is device time: "now" for the clock task (tracker dark,
hold-down expiry) is the newest device time seen, held back by a short grace
for readings still in flight (``monitor.clock``), never the wall clock.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from sqlalchemy.orm import Session

from ingest.dedup import Deduplicator
from ingest.handoff import decode_handoff, handoff_topic, partition_of
from ingest.mqtt import MqttEndpoint, connect_consumer, stop_worker
from monitor import compiled
from monitor.alert_actions import AlertActionError, act, release
from monitor.alert_store import AlertChange, AlertStore
from monitor.alerts import AlertPolicy, AlertStatus, apply_finding, apply_tick
from monitor.clock import FleetClock
from monitor.engine import DetectionEngine, default_detectors
from monitor.model import Finding, Pledge, Window
from monitor.pledges import PledgeLoader
from monitor.workers import record_beat
from registry import Registry
from registry.models import Checkpoint

__all__ = ["MonitorConfig", "MonitorService"]

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class MonitorConfig:
    client_id: str = "cw-monitor"
    partitions: Sequence[int] | None = None  # None: all of them
    total_partitions: int = 16
    tick_s: float = 0.5
    max_tick_delay_s: float = 10.0  # tick even with a backlog after this long
    checkpoint_s: float = 30.0
    pledge_refresh_s: float = 30.0
    max_messages_per_commit: int = 200
    in_flight_grace_s: float = 2.0  # wall time to wait for readings in flight (monitor.clock)
    max_lag_s: float = 6 * 3600.0


class MonitorService:
    def __init__(self, endpoint: MqttEndpoint, registry: Registry,
                 config: MonitorConfig | None = None, policy: AlertPolicy | None = None,
                 engine: DetectionEngine | None = None) -> None:
        self.endpoint, self.registry = endpoint, registry
        self.config = config or MonitorConfig()
        self.policy = policy or AlertPolicy()
        self.engine = engine or DetectionEngine(default_detectors())
        self.alerts = AlertStore(registry)
        self.clock = FleetClock(self.config.in_flight_grace_s,
                                int(self.config.max_lag_s * 1000))
        self.readings_seen = 0
        self.duplicates = 0
        self._dedup = Deduplicator()
        self._people_seen = -1  # alert_history rows applied (-1: not read yet)
        self._pledges: dict[str, Pledge] = {}
        self._released: dict[str, Pledge] = {}  # assets on closed loans: not watched
        self._pledge_loader = PledgeLoader()
        self._parts = frozenset(self.config.partitions or range(self.config.total_partitions))
        if not all(0 <= p < self.config.total_partitions for p in self._parts):
            raise ValueError(f"partitions {sorted(self._parts)} are not all within "
                             f"0..{self.config.total_partitions - 1}")
        self._inbox: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._client: mqtt.Client | None = None
        self._worker = threading.Thread(target=self._run, name="monitor", daemon=True)

    @property
    def _checkpoint_key(self) -> str:
        return f"monitor/{self.config.client_id}"

    def owns(self, asset_id: str) -> bool:
        """Whether this worker's partitions hold ``asset_id`` (its readings and alerts)."""
        return partition_of(asset_id, self.config.total_partitions) in self._parts

    def start(self) -> None:
        self.prepare()
        with self.registry.session() as session:  # say at once which partitions it watches
            self._beat(session, starting=True)
        log.info("monitor: detection engine %s", compiled.describe())
        topics = [handoff_topic(p) for p in sorted(self._parts)]
        self._client = connect_consumer(self.endpoint, self.config.client_id, topics,
                                        self._inbox.put)
        self._worker.start()

    def prepare(self) -> None:
        """Load this worker's open alerts and checkpoint, then the pledges (which drops the
        state of assets no longer watched and resolves the alerts of released ones)."""
        self.alerts.load(self.owns)
        self._restore()
        self.refresh_pledges()

    def stop(self) -> None:
        stop_worker(self._stop, self._worker, self._client)
        self._checkpoint(stopping=True)

    def _run(self) -> None:
        last_tick = last_checkpoint = last_refresh = time.monotonic()
        while not (self._stop.is_set() and self._inbox.empty()):
            self._drain()
            now = time.monotonic()
            # Tick on a drained inbox: a backlog is device time the clock has not
            # seen yet, and ticking half-way through it makes the rest look silent.
            due = now - last_tick >= self.config.tick_s
            if due and (self._inbox.empty() or now - last_tick >= self.config.max_tick_delay_s):
                self._tick()
                last_tick = now
            if now - last_refresh >= self.config.pledge_refresh_s:
                self.refresh_pledges()
                last_refresh = now
            if now - last_checkpoint >= self.config.checkpoint_s:
                self._checkpoint()
                last_checkpoint = now
        self._tick()

    @property
    def pledges(self) -> Mapping[str, Pledge]:
        """The pledges this worker judges against, as last read from the registry."""
        return self._pledges

    def refresh_pledges(self) -> None:
        """Reload pledges from the registry; drop the state of assets no longer watched, and
        resolve the open alerts of those whose loan was closed (collateral released)."""
        self._pledges, self._released = self._pledge_loader.load(self.registry)
        for asset_id in self.engine.asset_ids() - self._pledges.keys():
            self.engine.forget(asset_id)
        now_ms = self.clock.now_ms()
        changes = [AlertChange(*release(alert, self._released[key[0]].loan_id, now_ms))
                   for key, alert in list(self.alerts.open.items()) if key[0] in self._released]
        self.alerts.commit(changes, self._released)

    def _drain(self) -> None:
        messages: list[mqtt.MQTTMessage] = []
        try:
            messages.append(self._inbox.get(timeout=self.config.tick_s))
            while len(messages) < self.config.max_messages_per_commit:
                messages.append(self._inbox.get_nowait())
        except queue.Empty:
            pass
        if not messages:
            return
        findings: list[Finding] = []
        for message in messages:
            findings.extend(self._observe(bytes(message.payload)))
        self._commit(findings)
        assert self._client is not None
        for message in messages:
            self._client.ack(message.mid, message.qos)

    @property
    def watermark_ms(self) -> int:
        """The newest device time seen."""
        return self.clock.high_ms

    def _observe(self, payload: bytes) -> list[Finding]:
        findings: list[Finding] = []
        for item in decode_handoff(payload):
            reading = item.reading
            if not self._dedup.admit(reading.device_id, reading.seq):
                self.duplicates += 1
                continue
            pledge = self._pledges.get(item.asset_id)
            if pledge is None:
                if item.asset_id not in self._released:  # a released one's are not judged
                    log.warning("monitor: reading for unknown asset %s", item.asset_id)
                continue
            self.readings_seen += 1
            self.clock.advance(reading.ts_ms)
            findings.extend(self.engine.observe(reading, pledge))
        return findings

    def _tick(self) -> None:
        now_ms = self.clock.now_ms()
        if now_ms == 0:
            return
        findings = self.engine.tick(now_ms, self._pledges)
        changes = self._apply(findings) + self.apply_people_actions(now_ms)
        for key, alert in list(self.alerts.open.items()):
            new, events = apply_tick(alert, now_ms, self.policy, self._maintenance(key[0]))
            if new is None or new == alert:
                continue
            self.alerts.open[key] = new  # e.g. a reminder's time, even if not written
            if events or new.status is not alert.status:
                changes.append(AlertChange(new, events))
        self.alerts.commit(changes, self._pledges)
        self.alerts.forget_resolved_before(now_ms - self.policy.flap_window_ms)

    def apply_people_actions(self, now_ms: int) -> list[AlertChange]:
        """Acknowledgements, resolutions and snoozes recorded through the API, applied to
        open alerts.

        The API writes who did what to ``alert_history``; the monitor owns the
        alert's lifecycle, so it reads them here and sends their events. A
        fresh monitor starts after the history it finds: old actions are done.
        """
        if self._people_seen < 0:
            self._people_seen = self.alerts.last_people_action()
            return []
        changes: list[AlertChange] = []
        for done in self.alerts.people_actions_after(self._people_seen):
            self._people_seen = done.history_id
            key = self.alerts.key_of(done.alert_id)
            alert = self.alerts.open.get(key) if key is not None else None
            if alert is None or key is None:
                continue  # an alert another worker owns or already resolved
            try:
                new, events = act(alert, done.action, done.by, done.note, now_ms,
                                  until_ms=done.until_ms)
            except AlertActionError as exc:  # e.g. a snooze already over in device time
                log.warning("monitor: %s on alert %d by %s not applied: %s", done.action,
                            done.alert_id, done.by, exc)
                continue
            if new.status is AlertStatus.OPEN:
                self.alerts.open[key] = new
            changes.append(AlertChange(new, events))
        return changes

    def _maintenance(self, asset_id: str) -> tuple[Window, ...]:
        pledge = self._pledges.get(asset_id)
        return () if pledge is None else pledge.planned_downtime + pledge.approved_moves

    def _commit(self, findings: list[Finding]) -> None:
        self.alerts.commit(self._apply(findings), self._pledges)

    def _apply(self, findings: list[Finding]) -> list[AlertChange]:
        changes: list[AlertChange] = []
        for finding in findings:
            key = (finding.asset_id, finding.kind)
            current = self.alerts.current(key)
            new, events = apply_finding(current, finding, self.policy,
                                        self._maintenance(finding.asset_id))
            if new is None:
                continue
            # Keep the in-memory view current within one batch; only changes that
            # emit an event are written, so a long-lasting condition is not a write per reading.
            if new.status is AlertStatus.OPEN:
                self.alerts.open[key] = new
            # A muted alert opens or resolves without events, and is written all the same.
            if events or current is None or new.status is not current.status:
                changes.append(AlertChange(new, events))
        return changes

    def _checkpoint(self, *, stopping: bool = False) -> None:
        """Save the detectors' state, and the beat with it, in one transaction."""
        data = {"engine": self.engine.snapshot(), "watermark_ms": self.watermark_ms,
                "people_seen": self._people_seen}
        with self.registry.session() as session:
            session.merge(Checkpoint(key=self._checkpoint_key, data=data,
                                     updated_at=datetime.now(UTC)))
            self._beat(session, stopping=stopping)

    def _beat(self, session: Session, *, starting: bool = False,
              stopping: bool = False) -> None:
        """Say which partitions this worker judges (``monitor.workers``). At start only this:
        the state it just restored need not be saved again."""
        cfg = self.config
        record_beat(session, cfg.client_id, sorted(self._parts), cfg.total_partitions,
                    cfg.checkpoint_s, self.watermark_ms, self.readings_seen, datetime.now(UTC),
                    starting=starting, stopping=stopping)

    def _restore(self) -> None:
        with self.registry.session() as session:
            row = session.get(Checkpoint, self._checkpoint_key)
            data = dict(row.data) if row is not None else None
        if data:
            self.engine.restore(data["engine"])
            self.clock.restore(int(data.get("watermark_ms", 0)))
            self._people_seen = int(data.get("people_seen", -1))
            log.info("monitor: restored detector state (watermark %d)", self.watermark_ms)
