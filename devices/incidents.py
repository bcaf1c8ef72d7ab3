"""Scripted incidents, applied on top of an asset's normal duty cycle.

The fleet file's ``simulation.incidents`` lists them: the demo's four
original kinds, or any scenario of the incident library
(``devices.scenarios``), each with ``start_s`` (after the run starts),
optional ``duration_s`` and ``params``. The demo's kinds:

- relocation: engine off, towed away at 20-40 km/h to ``distance_m`` (the
  tow takes ~10-20 min) and kept there; a machine resumes its duty cycle at
  the new place, a truck or ship stays parked.
- idle: everything stops for good (ignition off, no rpm, power or motion).
- dark: the tracker publishes nothing from the start on.
- tamper: case opened and external power cut; the backup battery drains.

Each incident is also a record (``Incident``) of what was scripted where,
and becomes a ground-truth ``Label`` once the run's end is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from devices.effects import Clone, Effect, effect_for
from devices.kinds.base import Activity, key_of
from devices.scenarios import LEGACY_SCENARIO, Label
from devices.schema import fleet_devices

__all__ = ["IncidentKind", "Incident", "IncidentOverlay", "scripted_incidents"]


class IncidentKind(StrEnum):
    RELOCATION = "relocation"
    IDLE = "idle"
    DARK = "dark"
    TAMPER = "tamper"


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth: which incident hits which asset and device from when (device time)."""

    kind: str  # an ``IncidentKind`` or a scenario of ``devices.scenarios``
    asset_id: str
    device_id: str
    start_ms: int
    params: Mapping[str, Any] = field(default_factory=dict)
    end_ms: int | None = None  # None: until the run ends

    @property
    def scenario(self) -> str:
        return LEGACY_SCENARIO.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "asset_id": self.asset_id, "device_id": self.device_id,
                "start_ms": self.start_ms, "end_ms": self.end_ms, "params": dict(self.params)}


def scripted_incidents(fleet: dict[str, Any], start_ms: int) -> list[Incident]:
    """The fleet's ``simulation.incidents`` for a run starting at ``start_ms``, per device."""
    devices: dict[str, list[str]] = {}
    for device_id, asset in fleet_devices(fleet):
        devices.setdefault(asset["id"], []).append(device_id)
    out = []
    for row in (fleet.get("simulation") or {}).get("incidents", []):
        for device_id in devices.get(row["asset_id"], []):
            t0 = start_ms + int(row["start_s"] * 1000)
            end = None if row.get("duration_s") is None else t0 + int(row["duration_s"] * 1000)
            out.append(Incident(str(row["kind"]), row["asset_id"], device_id, t0,
                                dict(row.get("params", {})), end))
    return sorted(out, key=lambda i: (i.start_ms, i.device_id, i.kind))


class IncidentOverlay:
    """One device's incidents; call with non-decreasing device time, reading by reading."""

    def __init__(self, incidents: Sequence[Incident], mobile: bool) -> None:
        self._played: list[tuple[Incident, list[Effect]]] = []
        for incident in sorted(incidents, key=lambda i: i.start_ms):
            effects = effect_for(incident.kind, incident.start_ms, incident.end_ms,
                                 incident.params, mobile, key_of(incident.device_id))
            self._played.append((incident, effects))
        self.effects = [e for _, effects in self._played for e in effects]
        silences = [e.silent_from_ms for e in self.effects if e.silent_from_ms is not None]
        self.silent_from_ms: int | None = min(silences) if silences else None
        self.clones = [(i, e) for i, effects in self._played for e in effects
                       if isinstance(e, Clone)]

    def activity(self, t_ms: int, act: Activity) -> Activity:
        for effect in self.effects:
            act = effect.activity(t_ms, act)
        return act

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        for effect in self.effects:
            effect.fields(t_ms, fields)

    def held(self, t_ms: int) -> bool:
        return any(effect.held(t_ms) for effect in self.effects)

    def labels(self, end_ms: int) -> list[Label]:
        """Ground truth of the incidents that began by ``end_ms``."""
        out = []
        for incident, effects in self._played:
            start = max((e.label_start_ms for e in effects), default=incident.start_ms)
            if start > end_ms:
                continue
            ends = [e.label_end_ms for e in effects if e.label_end_ms is not None]
            planned = ends[0] if ends else incident.end_ms
            stop = end_ms if planned is None else min(planned, end_ms)
            out.append(Label(incident.asset_id, incident.device_id, incident.scenario, start,
                             max(stop, start), dict(incident.params)))
        return out
