"""How each scenario of the incident library changes what a tracker sends.

An effect is one scenario on one device. It may change the asset's
``Activity`` (where it is, whether the engine runs), the reading's fields as
the tracker reports them (GNSS, power, tamper, fuel), or the delivery (dark:
nothing is sent; dead zone: readings are held and uploaded as one batch).
Effects are called with non-decreasing device time, reading by reading, and
hold no randomness of their own: parameters come from the fleet file.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from devices.geo import EARTH_RADIUS_M
from devices.kinds.base import HOUR_MS, Activity
from devices.kinds.ship import KNOT_KMH

__all__ = ["Effect", "effect_for"]


class Effect:
    """One scenario on one device over [start_ms, end_ms); ``end_ms`` None runs to the end."""

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any]) -> None:
        self.start_ms, self.end_ms, self.params = start_ms, end_ms, params

    def on(self, t_ms: int) -> bool:
        return self.start_ms <= t_ms and (self.end_ms is None or t_ms < self.end_ms)

    @property
    def label_start_ms(self) -> int:
        """When the incident physically begins (a ship goes dark once it is at sea)."""
        return self.start_ms

    @property
    def label_end_ms(self) -> int | None:
        """When it stops, if the effect decides that itself."""
        return None

    @property
    def silent_from_ms(self) -> int | None:
        return None

    def activity(self, t_ms: int, act: Activity) -> Activity:
        return act

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        return None

    def held(self, t_ms: int) -> bool:
        """True while readings are kept on the device for a later batch upload."""
        return False


def engine_off(act: Activity) -> Activity:
    return replace(act, ignition=False, speed_kmh=0.0,
                   engine_rpm=None if act.engine_rpm is None else 0.0,
                   power_kw=None if act.power_kw is None else 0.0,
                   vibration_mm_s=None if act.vibration_mm_s is None else 0.0, heat_c=0.0)


def _unit(bearing_deg: float) -> tuple[float, float]:
    return math.sin(math.radians(bearing_deg)), math.cos(math.radians(bearing_deg))


class Move(Effect):
    """Moved ``distance_m`` on ``bearing_deg`` at ``speed_kmh``; back at ``end_ms`` if given.

    ``engine`` tells whether the asset drives itself (a ship) or is towed or
    carried (engine off, the low-loader's vibration). At the destination a
    machine that ``works_there`` resumes its duty cycle; anything else rests.
    """

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any],
                 engine: bool = False, works_there: bool = False) -> None:
        super().__init__(start_ms, end_ms, params)
        self._distance = float(params.get("distance_m", 8000.0))
        self._kmh = float(params.get("speed_kmh", params.get("tow_speed_kmh", 30.0)))
        self._east, self._north = _unit(float(params.get("bearing_deg", 0.0)))
        self.transit_ms = int(self._distance / (self._kmh / 3.6) * 1000)
        self._engine, self._works = engine, works_there
        self._origin: tuple[float, float] | None = None

    @property
    def arrive_ms(self) -> int:
        return self.start_ms + self.transit_ms

    def activity(self, t_ms: int, act: Activity) -> Activity:
        if t_ms < self.start_ms:
            return act
        if self._origin is None:
            self._origin = (act.x_m, act.y_m)
        if self.end_ms is not None and t_ms >= self.end_ms:
            return act
        out_f = (t_ms - self.start_ms) / max(self.transit_ms, 1)
        back_f = math.inf if self.end_ms is None else (self.end_ms - t_ms) / max(self.transit_ms, 1)
        if out_f < 1.0 or back_f < 1.0:
            return self._transit(t_ms, act, min(out_f, back_f), outward=out_f < 1.0)
        if self._works:
            return replace(act, x_m=act.x_m + self._distance * self._east,
                           y_m=act.y_m + self._distance * self._north)
        x, y = self._origin
        return replace(engine_off(act), x_m=x + self._distance * self._east,
                       y_m=y + self._distance * self._north)

    def _transit(self, t_ms: int, act: Activity, f: float, outward: bool) -> Activity:
        assert self._origin is not None
        d = f * self._distance
        heading = math.degrees(math.atan2(self._east, self._north)) % 360
        heading = heading if outward else (heading + 180) % 360
        speed = self._kmh * (1 + 0.05 * math.sin(t_ms / 37_000))
        moved = replace(engine_off(act), x_m=self._origin[0] + d * self._east,
                        y_m=self._origin[1] + d * self._north, speed_kmh=speed,
                        heading_deg=heading)
        if self._engine:
            knots = speed / KNOT_KMH
            return replace(moved, ignition=True, engine_rpm=20 + 7 * knots, heat_c=6.0)
        return replace(moved, vibration_mm_s=None if act.vibration_mm_s is None else 3.0)


class Drift(Effect):
    """Creeps away at ``rate_m_h`` on ``bearing_deg`` while otherwise working normally."""

    def activity(self, t_ms: int, act: Activity) -> Activity:
        if t_ms < self.start_ms:
            return act
        d = float(self.params.get("rate_m_h", 60.0)) * (t_ms - self.start_ms) / HOUR_MS
        d = min(d, float(self.params.get("max_m", 20_000.0)))
        east, north = _unit(float(self.params.get("bearing_deg", 0.0)))
        return replace(act, x_m=act.x_m + d * east, y_m=act.y_m + d * north)


class Shutdown(Effect):
    """Everything stops (frozen where it stood) until ``end_ms``, or for good."""

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any]) -> None:
        super().__init__(start_ms, end_ms, params)
        self._frozen: Activity | None = None

    def activity(self, t_ms: int, act: Activity) -> Activity:
        if not self.on(t_ms):
            return act
        if self._frozen is None:
            self._frozen = engine_off(act)
        return self._frozen


class Decline(Effect):
    """Working hours fade out: by ``ramp_s`` only ``floor`` of them still run.

    Which hours stop is a hash of (device, hour), so the decline comes in
    whole idle hours, as when a borrower runs out of orders.
    """

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any],
                 key: int) -> None:
        super().__init__(start_ms, end_ms, params)
        self._key = key

    def activity(self, t_ms: int, act: Activity) -> Activity:
        if not self.on(t_ms) or not act.ignition:
            return act
        ramp_ms = float(self.params.get("ramp_s", 4 * 86_400)) * 1000
        lost = min(1.0, (t_ms - self.start_ms) / ramp_ms) * (1 - float(self.params.get("floor",
                                                                                        0.05)))
        hour = t_ms // HOUR_MS
        u = zlib.crc32(f"{self._key}:{hour}".encode()) / 2**32
        return engine_off(act) if u < lost else act


class Trend(Effect):
    """A fault developing over ``ramp_s``: the engine or motor runs ever hotter or rougher."""

    def activity(self, t_ms: int, act: Activity) -> Activity:
        if not self.on(t_ms) or not act.ignition:
            return act
        f = min(1.0, (t_ms - self.start_ms) / (float(self.params.get("ramp_s", 86_400)) * 1000))
        if "rise_c" in self.params:
            return replace(act, heat_c=act.heat_c + f * float(self.params["rise_c"]))
        factor = 1 + f * (float(self.params.get("factor", 4.0)) - 1)
        vibration = act.vibration_mm_s if act.vibration_mm_s is not None else 2.0
        return replace(act, vibration_mm_s=vibration * factor)


class FuelTheft(Effect):
    """``drop_pct`` of the tank drained over ``drain_s`` while idle; missing until ``end_ms``."""

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        if not self.on(t_ms) or "fuel_pct" not in fields:
            return
        drain_ms = float(self.params.get("drain_s", 1200)) * 1000
        drop = float(self.params.get("drop_pct", 30.0)) * min(1.0, (t_ms - self.start_ms)
                                                              / drain_ms)
        fields["fuel_pct"] = round(max(fields["fuel_pct"] - drop, 0.0), 1)


class PowerCut(Effect):
    """External power lost: the tracker runs on its backup battery, which drains."""

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        if not self.on(t_ms):
            return
        hours = (t_ms - self.start_ms) / HOUR_MS
        drop = 0.08 * (1 - math.exp(-hours / 2)) + 0.012 * hours
        charge = 0.03 if fields.get("ignition") else 0.0
        fields["ext_power"] = False
        fields["battery_v"] = round(max(fields["battery_v"] - charge - drop, 3.45), 2)


class CaseOpen(Effect):
    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        if self.on(t_ms):
            fields["tamper"] = True


_GNSS = ("lat", "lon", "alt_m", "speed_kmh", "heading_deg")


class Jamming(Effect):
    """No fix while the asset keeps moving: the tracker reports fix 0 and no position.

    The jammer goes on with the first moving reading from ``start_ms`` (a
    thief drives off) and stays on for the scripted duration.
    """

    _NEVER = 2**62

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any]) -> None:
        super().__init__(start_ms, end_ms, params)
        self._length_ms = 1_800_000 if end_ms is None else end_ms - start_ms
        self._began: int | None = None

    @property
    def label_start_ms(self) -> int:
        return self._NEVER if self._began is None else self._began

    @property
    def label_end_ms(self) -> int | None:
        return None if self._began is None else self._began + self._length_ms

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        if self._began is None:
            if t_ms < self.start_ms or not (fields["ignition"] and fields["speed_kmh"] > 5):
                return
            self._began = t_ms
        if t_ms >= self._began + self._length_ms:
            return
        for name in _GNSS:
            fields.pop(name, None)
        fields.update(gnss_fix=0, hdop=99.9, sats=t_ms // 60_000 % 3)


class Teleport(Effect):
    """Positions jump ``jump_km`` away on ``bearing_deg`` until ``end_ms``."""

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        if not self.on(t_ms) or "lat" not in fields:
            return
        east, north = _unit(float(self.params.get("bearing_deg", 45.0)))
        d = float(self.params.get("jump_km", 500.0)) * 1000
        lat = fields["lat"] + math.degrees(d * north / EARTH_RADIUS_M)
        lon = fields["lon"] + math.degrees(d * east / (EARTH_RADIUS_M
                                                       * math.cos(math.radians(fields["lat"]))))
        fields["lat"], fields["lon"] = round(max(-89.9, min(89.9, lat)), 6), round(
            (lon + 180) % 360 - 180, 6)


class Frozen(Effect):
    """The reported position stops at the first spoofed fix while the engine keeps working."""

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any]) -> None:
        super().__init__(start_ms, end_ms, params)
        self._fix: dict[str, Any] | None = None

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        if not self.on(t_ms) or "lat" not in fields:
            return
        if self._fix is None:
            self._fix = {k: fields[k] for k in _GNSS if k in fields} | {"speed_kmh": 0.0}
        fields.update(self._fix)


class Replay(Effect):
    """Positions of ``lag_s`` ago are replayed verbatim (a recorded GNSS signal)."""

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any]) -> None:
        super().__init__(start_ms, end_ms, params)
        self._lag_ms = int(float(params.get("lag_s", 86_400)) * 1000)
        self._past: deque[tuple[int, dict[str, Any]]] = deque()

    def fields(self, t_ms: int, fields: dict[str, Any]) -> None:
        if t_ms < self.start_ms - self._lag_ms - HOUR_MS or not (self.end_ms is None
                                                                 or t_ms < self.end_ms):
            return
        self._past.append((t_ms, {k: fields[k] for k in _GNSS if k in fields}))
        if t_ms < self.start_ms:
            return
        while len(self._past) > 1 and self._past[1][0] <= t_ms - self._lag_ms:
            self._past.popleft()
        if self._past[0][0] <= t_ms - self._lag_ms:
            fields.update(self._past[0][1])


class Silence(Effect):
    """The tracker publishes nothing from ``from_ms`` on (power off, destroyed, shielded)."""

    def __init__(self, start_ms: int, end_ms: int | None, params: Mapping[str, Any],
                 from_ms: int | None = None) -> None:
        super().__init__(start_ms, end_ms, params)
        self._from = start_ms if from_ms is None else from_ms

    @property
    def label_start_ms(self) -> int:
        return self._from

    @property
    def silent_from_ms(self) -> int | None:
        return self._from


class DeadZone(Effect):
    """No coverage: readings are kept and uploaded as one batch once it returns."""

    def held(self, t_ms: int) -> bool:
        return self.on(t_ms)


class ParkedDrift(Effect):
    """While the engine is off the fix wanders slowly up to ``amplitude_m`` (multipath)."""

    def activity(self, t_ms: int, act: Activity) -> Activity:
        if not self.on(t_ms) or act.ignition:
            return act
        a = float(self.params.get("amplitude_m", 60.0))
        h = (t_ms - self.start_ms) / HOUR_MS
        return replace(act, x_m=act.x_m + a * math.sin(2 * math.pi * h / 5.3),
                       y_m=act.y_m + a * math.sin(2 * math.pi * h / 3.7 + 1.0))


class Clone(Effect):
    """A second source publishes under this device id; the simulator adds it (see ``Simulator``)."""


def effect_for(scenario: str, start_ms: int, end_ms: int | None, params: Mapping[str, Any],
               mobile: bool, key: int) -> list[Effect]:
    """The effects that play one scenario (or one of the demo's four legacy kinds)."""
    if scenario in ("relocation", "relocation_tow_night", "relocation_carried"):
        return [Move(start_ms, None, params, works_there=not mobile)]
    if scenario in ("maintenance_trip", "port_call"):
        return [Move(start_ms, end_ms, params, engine=scenario == "port_call")]
    if scenario == "ship_leaves_area":
        return [Move(start_ms, None, params, engine=True)]
    if scenario == "ship_dark_at_sea":
        move = Move(start_ms, None, params, engine=True)
        return [move, Silence(start_ms, None, params, from_ms=move.arrive_ms)]
    if scenario in ("dark", "tracker_silenced"):
        return [Silence(start_ms, None, params)]
    if scenario == "tamper":  # the demo's: case opened and power cut together
        out: list[Effect] = []
        if params.get("case_opened", True):
            out.append(CaseOpen(start_ms, end_ms, params))
        if params.get("ext_power_cut", True):
            out.append(PowerCut(start_ms, end_ms, params))
        return out
    if scenario == "utilisation_decline":
        return [Decline(start_ms, end_ms, params, key)]
    simple: dict[str, type[Effect]] = {
        "relocation_slow_drift": Drift, "idle": Shutdown, "abrupt_shutdown": Shutdown,
        "holiday_shutdown": Shutdown, "power_cut": PowerCut, "tamper_case_open": CaseOpen,
        "jamming": Jamming, "spoof_teleport": Teleport, "spoof_frozen": Frozen,
        "spoof_replay": Replay, "cloned_device": Clone, "equipment_overheat": Trend,
        "equipment_vibration": Trend, "fuel_theft": FuelTheft, "dead_zone": DeadZone,
        "parked_drift": ParkedDrift,
    }
    if scenario not in simple:
        raise ValueError(f"no effect for scenario {scenario!r}")
    return [simple[scenario](start_ms, end_ms, params)]
