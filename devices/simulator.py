"""The fleet simulator: pure, deterministic, on simulated device time.

``Simulator(fleet, seed, start_ms).advance(until_ms)`` returns the MQTT
messages every tracker would have sent up to ``until_ms``, in time order.
Each device reports every ``cadence_s`` from a per-device phase, with a
small jitter, ``seq`` counting from 1. Random numbers come from per-device
and per-(asset, day) streams, so the same seed, fleet and ``start_ms`` give
byte-identical messages however ``advance`` is called.

>>> from devices.fleet import generate_fleet
>>> sim = Simulator(generate_fleet(8, seed=3), seed=3, start_ms=1_764_547_200_000)
>>> topic, payload = sim.advance(1_764_547_200_000 + 600_000)[0]
>>> topic.startswith("telemetry/"), payload.startswith(b'{"v":1,')
(True, True)
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from devices.geo import to_latlon
from devices.incidents import Incident, IncidentOverlay, scripted_incidents
from devices.kinds import Behaviour, Draws, DrawStream, behaviour_for
from devices.kinds.base import HOUR_MS, key_of, rng_for
from devices.realism import REALISM, FieldTracker
from devices.scenarios import Label
from devices.schema import DEFAULT_CADENCE_S, fleet_devices, validate_fleet
from devices.tracker import Tracker
from devices.wire import encode_message, telemetry_topic

__all__ = ["Simulator", "MAX_BATCH"]

log = logging.getLogger(__name__)

_SALT = 0x51A1
_MAX_JITTER_MS = 3000
#: Readings per store-and-forward message (the wire contract allows 2,000).
MAX_BATCH = 500


@dataclass(slots=True)
class _Device:
    device_id: str
    topic: str
    kind: str
    behaviour: Behaviour
    tracker: Tracker
    overlay: IncidentOverlay
    draws: DrawStream
    cadence_ms: int
    first_ms: int  # the slot of seq 1, before jitter
    jitter_ms: int
    seq: int = 0
    slots: int = 0
    due_ms: int = 0
    pending: Draws | None = None
    until_ms: int | None = None  # a clone's second source stops here
    held: list[dict[str, Any]] = field(default_factory=list)  # store-and-forward buffer
    field_tracker: FieldTracker | None = None
    last_sent: bytes | None = None
    truth: list[tuple[int, float, float]] | None = None  # (device time, true lat, lon)

    def schedule_next(self) -> bool:
        """Draw the next reading's slot; False once the device has gone dark."""
        self.pending = self.draws.next()
        slot = self.first_ms + self.slots * self.cadence_ms
        self.slots += 1
        self.due_ms = slot + round(self.pending.uniform(-self.jitter_ms, self.jitter_ms))
        ends = [t for t in (self.overlay.silent_from_ms, self.until_ms) if t is not None]
        return not ends or self.due_ms < min(ends)


class Simulator:
    def __init__(self, fleet: dict[str, Any], seed: int, start_ms: int,
                 realism: str = "clean", truth_of: Collection[str] = ()) -> None:
        validate_fleet(fleet)
        if realism not in REALISM:
            raise ValueError(f"realism must be one of {', '.join(REALISM)}, not {realism!r}")
        self.seed, self.start_ms, self.realism = seed, start_ms, realism
        self._assets = {a["id"]: a for a in fleet["assets"]}
        self._now_ms = start_ms
        self._incidents = scripted_incidents(fleet, start_ms)
        by_device: dict[str, list[Incident]] = {}
        for incident in self._incidents:
            by_device.setdefault(incident.device_id, []).append(incident)
        self._devices = [self._device(device_id, asset, by_device.get(device_id, []))
                         for device_id, asset in fleet_devices(fleet)]
        for device in self._devices:
            if device.device_id in truth_of:
                device.truth = []
        self._devices += [self._clone(device, incident) for device in list(self._devices)
                          for incident, _ in device.overlay.clones]
        self._queue: list[tuple[int, int]] = []
        for i, device in enumerate(self._devices):
            if device.schedule_next():
                self._queue.append((device.due_ms, i))
        heapq.heapify(self._queue)
        log.info("simulator: %d devices, %d incidents, seed %d, start %d",
                 len(self._devices), len(self._incidents), seed, start_ms)

    @property
    def incidents(self) -> list[Incident]:
        """The scripted incidents with their device and start time."""
        return list(self._incidents)

    @property
    def now_ms(self) -> int:
        """Device time reached so far."""
        return self._now_ms

    @property
    def kind_by_topic(self) -> Mapping[str, str]:
        return {d.topic: d.kind for d in self._devices}

    @property
    def device_ids(self) -> list[str]:
        return list(dict.fromkeys(d.device_id for d in self._devices))

    @property
    def silences(self) -> list[tuple[int, str]]:
        """(device time it goes quiet, device id) for every tracker that goes dark."""
        return sorted((d.overlay.silent_from_ms, d.device_id) for d in self._devices
                      if d.overlay.silent_from_ms is not None)

    def truth(self, device_id: str) -> list[tuple[int, float, float]]:
        """(device time, lat, lon) of every reading so far, before GNSS noise, for a device
        named in ``truth_of``: where the asset really was (scoring times exits by it)."""
        for device in self._devices:
            if device.device_id == device_id and device.truth is not None:
                return list(device.truth)
        return []

    def labels(self, end_ms: int | None = None) -> list[Label]:
        """Ground truth of every scenario played by ``end_ms`` (default: device time reached)."""
        end = self._now_ms if end_ms is None else end_ms
        out = [label for d in self._devices if d.until_ms is None
               for label in d.overlay.labels(end)]
        return sorted(out, key=lambda x: (x.start_ms, x.device_id, x.scenario))

    def advance(self, until_ms: int, max_messages: int | None = None) -> list[tuple[str, bytes]]:
        """Messages due up to ``until_ms`` (inclusive), oldest first, at most ``max_messages``."""
        return [(topic, payload) for topic, payload, _ in self.advance_timed(until_ms,
                                                                              max_messages)]

    def advance_timed(self, until_ms: int,
                      max_messages: int | None = None) -> list[tuple[str, bytes, int]]:
        """Like ``advance``, with the device time each message was sent."""
        out: list[tuple[str, bytes, int]] = []
        queue = self._queue
        while queue and queue[0][0] <= until_ms:
            if max_messages is not None and len(out) >= max_messages:
                self._now_ms = max(self._now_ms, queue[0][0] - 1)
                return out
            due_ms, i = heapq.heappop(queue)
            device = self._devices[i]
            out.extend((device.topic, payload, due_ms) for payload in self._reading(device, due_ms))
            if device.schedule_next():
                heapq.heappush(queue, (device.due_ms, i))
        self._now_ms = max(self._now_ms, until_ms)
        return out

    def messages(self, until_ms: int, step_ms: int = HOUR_MS) -> Iterator[tuple[str, bytes, int]]:
        """Every message up to ``until_ms`` as (topic, payload, device time), in steps."""
        while self._now_ms < until_ms:
            yield from self.advance_timed(min(self._now_ms + step_ms, until_ms))

    def _reading(self, device: _Device, t_ms: int) -> list[bytes]:
        assert device.pending is not None
        draws = device.pending
        overlay = device.overlay if device.overlay.effects else None  # most devices: none
        activity = device.behaviour.activity_at(t_ms, draws)
        if overlay is not None:
            activity = overlay.activity(t_ms, activity)
        fields = device.tracker.fields(t_ms, activity, draws)
        if device.truth is not None:
            device.truth.append((t_ms, *device.tracker.true_position(activity)))
        field_tracker = device.field_tracker
        no_coverage = field_tracker is not None and field_tracker.apply(t_ms, activity, fields)
        if overlay is not None:
            overlay.fields(t_ms, fields)
        device.seq += 1
        ts_ms = t_ms if field_tracker is None else field_tracker.clock(t_ms)
        reading = {"seq": device.seq, "ts_ms": ts_ms, **fields}
        if no_coverage or (overlay is not None and overlay.held(t_ms)):
            device.held.append(reading)
            return []
        if not device.held:
            return [self._sent(device, [reading])]
        if field_tracker is None:  # the ideal tracker: one batch, oldest first
            batch, device.held = [*device.held, reading], []
            return [encode_message(device.device_id, batch[i:i + MAX_BATCH])
                    for i in range(0, len(batch), MAX_BATCH)]
        # A real one reconnects, sends the live reading, then its backlog; and sometimes
        # the last message before the gap again, its acknowledgement lost with the link.
        resend = [device.last_sent] if device.last_sent and field_tracker.resend_last() else []
        backlog, device.held = device.held, []
        out = [self._sent(device, [reading])]
        out += [encode_message(device.device_id, backlog[i:i + MAX_BATCH])
                for i in range(0, len(backlog), MAX_BATCH)]
        return [*resend, *out]

    def _sent(self, device: _Device, readings: list[dict[str, Any]]) -> bytes:
        payload = encode_message(device.device_id, readings)
        device.last_sent = payload
        return payload

    def _clone(self, device: _Device, incident: Incident) -> _Device:
        """The second source of a cloned device: the same kind of asset elsewhere, its own seq."""
        asset = dict(self._assets[incident.asset_id])
        site = dict(asset["site"])
        km, bearing = float(incident.params.get("offset_km", 80.0)), math.radians(
            float(incident.params.get("bearing_deg", 200.0)))
        lat, lon = to_latlon(site["lat"], site["lon"], km * 1000 * math.sin(bearing),
                             km * 1000 * math.cos(bearing))
        site.pop("polygon", None)
        site.update(lat=lat, lon=lon, radius_m=site.get("radius_m") or 500.0)
        asset.update(id=f"{incident.asset_id}~clone", site=site)
        clone = self._device(f"{device.device_id}~clone", asset, [])
        clone.device_id, clone.topic = device.device_id, device.topic
        clone.first_ms, clone.until_ms = incident.start_ms, incident.end_ms
        clone.seq = int(incident.params.get("seq0", 1))
        return clone

    def _device(self, device_id: str, asset: dict[str, Any],
                incidents: list[Incident]) -> _Device:
        key = key_of(device_id)
        cadence_ms = int(float(asset.get("cadence_s", DEFAULT_CADENCE_S)) * 1000)
        phase_ms = int(rng_for(self.seed, key, _SALT).integers(max(cadence_ms, 1)))
        behaviour = behaviour_for(asset, self.seed, self.start_ms)
        site = asset["site"]
        return _Device(
            device_id=device_id,
            topic=telemetry_topic(device_id),
            kind=asset["kind"],
            behaviour=behaviour,
            tracker=Tracker(device_id, asset["kind"], float(site["lat"]), float(site["lon"]),
                            self.seed),
            overlay=IncidentOverlay(incidents, behaviour.mobile),
            draws=DrawStream(self.seed, key),
            cadence_ms=cadence_ms,
            first_ms=self.start_ms + phase_ms + min(_MAX_JITTER_MS, cadence_ms // 20),
            jitter_ms=min(_MAX_JITTER_MS, cadence_ms // 20),
            field_tracker=FieldTracker(device_id, asset["kind"], self.seed)
            if self.realism == "field" else None,
        )
