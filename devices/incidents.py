"""Scripted incidents, applied on top of an asset's normal duty cycle.

- relocation: engine off, towed away at 20-40 km/h to ``distance_m`` (the
  tow takes ~10-20 min) and kept there; a machine resumes its duty cycle at
  the new place, a truck or ship stays parked.
- idle: everything stops for good (ignition off, no rpm, power or motion).
- dark: the tracker publishes nothing from the start on.
- tamper: case opened and external power cut; the backup battery drains.

Each incident is also a record (``Incident``) of what was scripted where,
so a test or the demo summary can check that the platform found it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from devices.kinds.base import HOUR_MS, Activity, key_of
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

    kind: IncidentKind
    asset_id: str
    device_id: str
    start_ms: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "asset_id": self.asset_id, "device_id": self.device_id,
                "start_ms": self.start_ms, "params": dict(self.params)}


def scripted_incidents(fleet: dict[str, Any], start_ms: int) -> list[Incident]:
    """The fleet's ``simulation.incidents`` for a run starting at ``start_ms``, per device."""
    devices: dict[str, list[str]] = {}
    for device_id, asset in fleet_devices(fleet):
        devices.setdefault(asset["id"], []).append(device_id)
    out = []
    for row in (fleet.get("simulation") or {}).get("incidents", []):
        for device_id in devices.get(row["asset_id"], []):
            out.append(Incident(IncidentKind(row["kind"]), row["asset_id"], device_id,
                                start_ms + int(row["start_s"] * 1000), dict(row.get("params", {}))))
    return sorted(out, key=lambda i: (i.start_ms, i.device_id, i.kind))


class IncidentOverlay:
    """One device's incidents; call with non-decreasing device time, reading by reading."""

    def __init__(self, incidents: Sequence[Incident], mobile: bool) -> None:
        darks = [i.start_ms for i in incidents if i.kind is IncidentKind.DARK]
        self.silent_from_ms: int | None = min(darks) if darks else None
        self._moves: list[_Relocation | _Idle] = []
        self._tampers: list[_Tamper] = []
        for incident in sorted(incidents, key=lambda i: i.start_ms):
            if incident.kind is IncidentKind.RELOCATION:
                self._moves.append(_Relocation(incident, mobile))
            elif incident.kind is IncidentKind.IDLE:
                self._moves.append(_Idle(incident))
            elif incident.kind is IncidentKind.TAMPER:
                self._tampers.append(_Tamper(incident))

    def activity(self, t_ms: int, act: Activity) -> Activity:
        for effect in self._moves:
            act = effect.apply(t_ms, act)
        return act

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        for effect in self._tampers:
            effect.apply(t_ms, fields)


def _engine_off(act: Activity) -> Activity:
    return replace(act, ignition=False, speed_kmh=0.0,
                   engine_rpm=None if act.engine_rpm is None else 0.0,
                   power_kw=None if act.power_kw is None else 0.0,
                   vibration_mm_s=None if act.vibration_mm_s is None else 0.0, heat_c=0.0)


class _Relocation:
    def __init__(self, incident: Incident, mobile: bool) -> None:
        params = incident.params
        self._start = incident.start_ms
        self._distance = float(params.get("distance_m", 8000.0))
        self._kmh = float(params.get("tow_speed_kmh", 30.0))
        self._bearing = float(params.get("bearing_deg", key_of(incident.asset_id) % 360))
        self._tow_ms = self._distance / (self._kmh / 3.6) * 1000
        self._mobile = mobile
        self._origin: tuple[float, float] | None = None

    def apply(self, t_ms: int, act: Activity) -> Activity:
        if t_ms < self._start:
            return act
        if self._origin is None:
            self._origin = (act.x_m, act.y_m)
        f = (t_ms - self._start) / self._tow_ms
        east, north = math.sin(math.radians(self._bearing)), math.cos(math.radians(self._bearing))
        if f < 1.0:  # on the low-loader, engine off
            d = f * self._distance
            towed = _engine_off(act)
            return replace(towed, x_m=self._origin[0] + d * east, y_m=self._origin[1] + d * north,
                           speed_kmh=self._kmh * (1 + 0.05 * math.sin(t_ms / 37_000)),
                           heading_deg=self._bearing,
                           vibration_mm_s=None if act.vibration_mm_s is None else 3.0)
        if self._mobile:
            x, y = self._origin
            return replace(_engine_off(act), x_m=x + self._distance * east,
                           y_m=y + self._distance * north)
        return replace(act, x_m=act.x_m + self._distance * east,
                       y_m=act.y_m + self._distance * north)


class _Idle:
    def __init__(self, incident: Incident) -> None:
        self._start = incident.start_ms
        self._frozen: Activity | None = None

    def apply(self, t_ms: int, act: Activity) -> Activity:
        if t_ms < self._start:
            return act
        if self._frozen is None:
            self._frozen = _engine_off(act)
        return self._frozen


class _Tamper:
    def __init__(self, incident: Incident) -> None:
        self._start = incident.start_ms
        self._case_opened = bool(incident.params.get("case_opened", True))
        self._power_cut = bool(incident.params.get("ext_power_cut", True))

    def apply(self, t_ms: int, fields: dict[str, Any]) -> None:
        if t_ms < self._start:
            return
        if self._case_opened:
            fields["tamper"] = True
        if self._power_cut:
            hours = (t_ms - self._start) / HOUR_MS
            drop = 0.08 * (1 - math.exp(-hours / 2)) + 0.012 * hours
            charge = 0.03 if fields.get("ignition") else 0.0
            fields["ext_power"] = False
            fields["battery_v"] = round(max(fields["battery_v"] - charge - drop, 3.45), 2)
