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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devices.incidents import Incident, IncidentOverlay, scripted_incidents
from devices.kinds import Behaviour, Draws, DrawStream, behaviour_for
from devices.kinds.base import key_of, rng_for
from devices.schema import DEFAULT_CADENCE_S, fleet_devices, validate_fleet
from devices.tracker import Tracker
from devices.wire import encode_message, telemetry_topic

__all__ = ["Simulator"]

log = logging.getLogger(__name__)

_SALT = 0x51A1
_MAX_JITTER_MS = 3000


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
    due_ms: int = 0
    pending: Draws | None = None

    def schedule_next(self) -> bool:
        """Draw the next reading's slot; False once the device has gone dark."""
        self.pending = self.draws.next()
        slot = self.first_ms + self.seq * self.cadence_ms
        self.due_ms = slot + round(self.pending.uniform(-self.jitter_ms, self.jitter_ms))
        silent = self.overlay.silent_from_ms
        return silent is None or self.due_ms < silent


class Simulator:
    def __init__(self, fleet: dict[str, Any], seed: int, start_ms: int) -> None:
        validate_fleet(fleet)
        self.seed, self.start_ms = seed, start_ms
        self._now_ms = start_ms
        self._incidents = scripted_incidents(fleet, start_ms)
        by_device: dict[str, list[Incident]] = {}
        for incident in self._incidents:
            by_device.setdefault(incident.device_id, []).append(incident)
        self._devices = [self._device(device_id, asset, by_device.get(device_id, []))
                         for device_id, asset in fleet_devices(fleet)]
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
        return [d.device_id for d in self._devices]

    def advance(self, until_ms: int, max_messages: int | None = None) -> list[tuple[str, bytes]]:
        """Messages due up to ``until_ms`` (inclusive), oldest first, at most ``max_messages``."""
        out: list[tuple[str, bytes]] = []
        queue = self._queue
        while queue and queue[0][0] <= until_ms:
            if max_messages is not None and len(out) >= max_messages:
                self._now_ms = max(self._now_ms, queue[0][0] - 1)
                return out
            due_ms, i = heapq.heappop(queue)
            device = self._devices[i]
            out.append((device.topic, self._reading(device, due_ms)))
            if device.schedule_next():
                heapq.heappush(queue, (device.due_ms, i))
        self._now_ms = max(self._now_ms, until_ms)
        return out

    def _reading(self, device: _Device, t_ms: int) -> bytes:
        assert device.pending is not None
        draws = device.pending
        activity = device.overlay.activity(t_ms, device.behaviour.activity_at(t_ms, draws))
        fields = device.tracker.fields(t_ms, activity, draws)
        device.overlay.fields(t_ms, fields)
        device.seq += 1
        return encode_message(device.device_id, [{"seq": device.seq, "ts_ms": t_ms, **fields}])

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
        )
