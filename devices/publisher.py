"""The MQTT edge of the simulator: play a fleet to a broker at QoS 1.

Device time runs ``speed`` times faster than the wall clock from ``start_ms``
but never ahead of it: once the simulation catches up with "now" it goes on
in real time, so ingest's far-future check stays meaningful. A few paho-mqtt
2.x connections carry all devices (a device always uses the same one, so its
messages stay in order); a separate control connection carries presence
(``status/{device_id}``, retained) and the injected malformed messages, so the
telemetry counters count telemetry only.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devices.incidents import Incident
from devices.link import LinkSettings, MqttLink, PublishError, device_password
from devices.malformed import malformed_messages
from devices.record import Recorder
from devices.simulator import Simulator
from devices.wire import status_topic, telemetry_topic

__all__ = ["PublishError", "PublishOptions", "PublishStats", "run_simulation"]

log = logging.getLogger(__name__)

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class PublishOptions:
    connections: int = 2  # telemetry connections; plus one control connection
    mqtt_protocol: int = 4  # 4 = MQTT 3.1.1 (what the embedded amqtt speaks), 5 = MQTT 5
    max_inflight: int = 1000  # per connection
    max_outstanding: int = 20_000  # unacknowledged telemetry before the simulation waits
    batch: int = 5_000  # messages per simulation step
    tick_s: float = 0.05
    log_every_s: float = 5.0
    malformed_after_s: float = 3.0
    connect_timeout_s: float = 15.0
    ack_timeout_s: float = 30.0
    presence: bool = True  # retained "online" at start, "offline" when a device stops
    #: One MQTT connection per device, user = device id, password from this secret
    #: (``devices.link.device_password``), last will "offline" on status/{device_id}.
    device_secret: str | None = None
    #: Or each device's own password as the registry issued it (device id -> password).
    device_passwords: Mapping[str, str] | None = None
    realism: str = "clean"  # or "field": see devices.realism


@dataclass(slots=True)
class PublishStats:
    """What a run published. ``published``/``acked`` count simulated telemetry only."""

    published: int = 0
    acked: int = 0
    malformed_injected: int = 0
    status_published: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    sim_start_ms: int = 0
    sim_end_ms: int = 0
    reconnects: int = 0
    wall_s: float = 0.0
    bytes_published: int = 0

    @property
    def unacked(self) -> int:
        return self.published - self.acked

    def snapshot(self) -> PublishStats:
        return replace(self, by_kind=dict(self.by_kind), incidents=list(self.incidents))


def run_simulation(
    fleet: dict[str, Any],
    *,
    seed: int,
    speed: float,
    host: str,
    port: int,
    start_ms: int | None = None,
    duration_s: float | None = None,
    stop_event: threading.Event | None = None,
    client_id_prefix: str = "sim",
    mqtt_username: str | None = None,
    mqtt_password: str | None = None,
    inject_malformed: bool = False,
    progress: Callable[[PublishStats], None] | None = None,
    options: PublishOptions = PublishOptions(),
    record_dir: str | Path | None = None,
) -> PublishStats:
    """Publish the fleet's telemetry until ``duration_s`` of wall time or ``stop_event``.

    Without ``start_ms`` the run is placed to end at "now": it starts
    ``duration_s * speed`` ago, or 24 h ago when there is no duration (real
    time from now when ``speed`` is 1). Returns once the broker acknowledged
    everything or ``options.ack_timeout_s`` passed. A fleet with
    ``simulation.start_ms`` (a labelled fleet) starts there by default. With
    ``record_dir`` every message, the labels and the fleet are written there
    (``devices.record``).
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    if start_ms is None:
        start_ms = (fleet.get("simulation") or {}).get("start_ms")
    start_ms = _start_ms(start_ms, duration_s, speed)
    sim = Simulator(fleet, seed, start_ms, options.realism)
    stats = PublishStats(incidents=sim.incidents, sim_start_ms=start_ms, sim_end_ms=start_ms)
    recorder = None if record_dir is None else Recorder(record_dir, fleet)
    run = _Run(sim, stats, options, progress, recorder)
    run.connect(LinkSettings(host, port, mqtt_username, mqtt_password, options.mqtt_protocol,
                             options.max_inflight), client_id_prefix)
    try:
        run.play(speed, duration_s, stop_event or threading.Event(), inject_malformed)
    finally:
        run.close()
        if recorder is not None:
            recorder.close(sim.labels(stats.sim_end_ms))
    log.info("simulation done: %d published, %d acknowledged, %d malformed, device time %s..%s",
             stats.published, stats.acked, stats.malformed_injected, _iso(stats.sim_start_ms),
             _iso(stats.sim_end_ms))
    return stats


def _start_ms(start_ms: int | None, duration_s: float | None, speed: float) -> int:
    if start_ms is not None:
        return start_ms
    now_ms = time.time_ns() // 1_000_000
    if duration_s is not None:
        return now_ms - int(duration_s * speed * 1000)
    return now_ms - (_DAY_MS if speed > 1 else 0)


def _password(device_id: str, secret: str | None,
              passwords: Mapping[str, str] | None) -> str:
    if passwords is not None:
        if device_id not in passwords:
            raise PublishError(f"no MQTT password for device {device_id}")
        return passwords[device_id]
    assert secret is not None
    return device_password(secret, device_id)


def _iso(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, UTC).isoformat(timespec="seconds")


class _Run:
    """One run's moving parts: the simulator, the connections and the counters."""

    def __init__(self, sim: Simulator, stats: PublishStats, options: PublishOptions,
                 progress: Callable[[PublishStats], None] | None,
                 recorder: Recorder | None = None) -> None:
        self.sim, self.stats, self.options, self.progress = sim, stats, options, progress
        self.recorder = recorder
        self.presence_on_links = 0
        self.links: list[MqttLink] = []
        self.control: MqttLink | None = None
        self.route: dict[str, MqttLink] = {}
        self.kinds = sim.kind_by_topic
        self.darks = sim.silences

    def connect(self, settings: LinkSettings, prefix: str) -> None:
        secret, passwords = self.options.device_secret, self.options.device_passwords
        if secret is None and passwords is None:
            n = max(1, self.options.connections)
            self.links = [MqttLink(f"{prefix}-{i}", settings) for i in range(n)]
            self.control = MqttLink(f"{prefix}-ctl", settings)
            self.route = {t: self.links[zlib.crc32(t.encode()) % n] for t in self.kinds}
        else:  # each device as itself: its own credentials, ACL and last will
            own = {d: MqttLink(d, replace(settings, username=d, password=_password(d, secret,
                                                                               passwords),
                                          will=(status_topic(d), b"offline")))
                   for d in self.sim.device_ids}
            self.links = list(own.values())
            self.route = {telemetry_topic(d): link for d, link in own.items()}
        everyone = [*self.links, *([self.control] if self.control else [])]
        for link in everyone:
            link.start()
        deadline = time.monotonic() + self.options.connect_timeout_s
        for link in everyone:
            if not link.connected.wait(max(0.0, deadline - time.monotonic())):
                self.close(wait=False)
                raise PublishError(f"cannot connect to MQTT broker {settings.host}:"
                                   f"{settings.port} as {link.client_id} ({link.last_error})")

    def play(self, speed: float, duration_s: float | None, stop: threading.Event,
             inject_malformed: bool) -> None:
        self._presence(self.sim.device_ids, b"online")
        if inject_malformed and self.control is None:
            # Devices on their own credentials may only speak as themselves.
            log.warning("malformed messages are not injected with one connection per device")
            inject_malformed = False
        t0 = time.monotonic()
        next_log = t0 + self.options.log_every_s
        malformed_due = t0 + min(self.options.malformed_after_s, (duration_s or 1e9) / 3)
        while not stop.is_set():
            elapsed = time.monotonic() - t0
            if duration_s is not None and elapsed >= duration_s:
                self._step(self._target(duration_s, speed), self.options.batch)
                break
            busy = self._step(self._target(elapsed, speed), self.options.batch)
            if inject_malformed and self.stats.malformed_injected == 0 and \
                    time.monotonic() >= malformed_due:
                self._inject_malformed()
            if time.monotonic() >= next_log:
                self._report()
                next_log += self.options.log_every_s
            if not busy:
                stop.wait(self.options.tick_s)
        self.stats.wall_s = time.monotonic() - t0

    def _target(self, elapsed_s: float, speed: float) -> int:
        wall_ms = time.time_ns() // 1_000_000
        return min(self.stats.sim_start_ms + int(elapsed_s * speed * 1000), wall_ms)

    def _step(self, target_ms: int, limit: int | None) -> bool:
        """Publish what is due by ``target_ms``; True if more is waiting right now."""
        if limit is not None and self._outstanding() >= self.options.max_outstanding:
            return False
        batch = self.sim.advance(target_ms, max_messages=limit)
        by_kind = self.stats.by_kind
        for topic, payload in batch:
            self.route[topic].publish(topic, payload)
            if self.recorder is not None:
                self.recorder.message(topic, payload)
            kind = self.kinds[topic]
            by_kind[kind] = by_kind.get(kind, 0) + 1
        self.stats.published += len(batch)
        self.stats.sim_end_ms = self.sim.now_ms
        self._announce_dark()
        return limit is not None and len(batch) >= limit

    def _telemetry_acked(self) -> int:
        return max(0, sum(link.acked for link in self.links) - self.presence_on_links)

    def _outstanding(self) -> int:
        return sum(link.outstanding for link in self.links)

    def _announce_dark(self) -> None:
        # What the broker would do with a real tracker's last will once it went quiet.
        while self.darks and self.darks[0][0] <= self.sim.now_ms:
            self._presence([self.darks.pop(0)[1]], b"offline")

    def _presence(self, device_ids: list[str], state: bytes) -> None:
        if not self.options.presence:
            return
        for device_id in device_ids:
            topic = status_topic(device_id)
            link = self.control or self.route[telemetry_topic(device_id)]
            link.publish(topic, state, retain=True)
            if link is not self.control:  # on a device's own link: not telemetry
                self.presence_on_links += 1
            if self.recorder is not None:
                self.recorder.message(status_topic(device_id), state, retain=True)
        self.stats.status_published += len(device_ids)

    def _inject_malformed(self) -> None:
        assert self.control is not None
        now_ms = time.time_ns() // 1_000_000
        bad = malformed_messages(self.sim.seed, self.sim.device_ids, now_ms)
        for topic, payload, reason in bad:
            self.control.publish(topic, payload)
            if self.recorder is not None:
                self.recorder.message(topic, payload)
            log.info("injected malformed message on %s (expect %s, %d bytes)", topic, reason,
                     len(payload))
        self.stats.malformed_injected = len(bad)

    def _report(self) -> None:
        stats = self.stats
        stats.acked = self._telemetry_acked()
        stats.reconnects = sum(max(0, link.connects - 1) for link in self.links)
        log.info("simulation at %s: %d published, %d acknowledged, %d in flight",
                 _iso(stats.sim_end_ms), stats.published, stats.acked, stats.unacked)
        if self.progress is not None:
            try:
                self.progress(stats.snapshot())
            except Exception:  # a failing observer must not stop the fleet
                log.exception("progress callback failed")

    def close(self, wait: bool = True) -> None:
        links = [*self.links, *([self.control] if self.control else [])]
        if wait:
            self._presence(self.sim.device_ids, b"offline")
            deadline = time.monotonic() + self.options.ack_timeout_s
            while any(link.outstanding for link in links) and time.monotonic() < deadline:
                time.sleep(0.02)
        for link in links:
            link.stop()
        self.stats.acked = self._telemetry_acked()
        self.stats.bytes_published = sum(link.bytes for link in self.links)
        self.stats.reconnects = sum(max(0, link.connects - 1) for link in self.links)
        if self.stats.unacked:
            log.warning("%d telemetry messages were not acknowledged by the broker",
                        self.stats.unacked)
