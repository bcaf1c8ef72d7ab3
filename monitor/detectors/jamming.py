"""Jamming: the GNSS fix is lost while the engine runs or the asset moves.

Thieves jam GNSS so a stolen machine cannot be followed. A reading without a
usable fix (no position, or ``gnss_fix`` below 2) that shows the machine at
work (ignition on, engine turning, or wheel speed) is evidence. The alarm
needs ``min_readings`` such readings spanning ``min_s``, so a tunnel, a
shed or a multipath glitch stays quiet; a reading with the engine off does
not break the run (a jammer does not care), a good fix does. Cleared after
``clear_fixes`` consecutive good fixes.

A thief may also jam, drive a few minutes and park the machine somewhere
out of sight, jammer still on: too few working readings for the run above.
The fix that comes back then tells: if the machine worked at some point of
a blind spell of ``min_s`` or more and its fix is back ``blind_move_m`` or
more from the last one before the spell, it moved where it could not be
followed, and that is raised then (a tunnel is shorter; a machine parked
in a shed for the night comes out where it went in).

>>> det = JammingDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", None)
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> for i in range(4):
...     r = Reading("d1", i, t0 + i * 300_000, gnss_fix=0, ignition=True, engine_rpm=1500.0)
...     state, found = det.on_reading(state, r, pledge)
>>> found[0].active, found[0].details["lost_s"]
(True, 900.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.detectors.fences import haversine_m
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["JammingDetector", "JammingState"]


@dataclass(slots=True)
class JammingState(StateRecord):
    last_ts_ms: int | None = None
    lost_since_ms: int | None = None  # first fix-less working reading of the run
    lost_readings: int = 0
    good_streak: int = 0
    alarm: bool = False
    last_lat: float | None = None  # the last good fix
    last_lon: float | None = None
    blind_since_ms: int | None = None  # first fix-less reading since it
    blind_worked: bool = False  # the machine worked at some point of the blind spell


class JammingDetector(ReadingsOnly[JammingState]):
    kind = AlertKind.JAMMING
    state_type = JammingState

    def __init__(self, *, min_readings: int = 3, min_s: float = 900.0, clear_fixes: int = 2,
                 rpm_min: float = 50.0, speed_kmh_min: float = 3.0,
                 blind_move_m: float = 1000.0) -> None:
        self.min_readings, self.min_s, self.clear_fixes = min_readings, min_s, clear_fixes
        self.rpm_min, self.speed_kmh_min = rpm_min, speed_kmh_min
        self.blind_move_m = blind_move_m

    def on_reading(
        self, state: JammingState, reading: Reading, pledge: Pledge
    ) -> tuple[JammingState, Sequence[Finding]]:
        ts = reading.ts_ms
        if state.last_ts_ms is not None and ts < state.last_ts_ms:
            return state, NO_FINDINGS
        fix, lat, lon = reading.gnss_fix, reading.lat, reading.lon
        if lat is not None and (fix is None or fix >= 2):
            state.last_ts_ms = ts
            since = state.blind_since_ms
            if since is not None and lon is not None:
                return state, self._fix_back(state, reading, since, lat, lon, pledge)
            state.last_lat, state.last_lon = lat, lon
            if not state.alarm:  # the common case, without _good_fix's call
                state.lost_since_ms, state.lost_readings = None, 0
                return state, NO_FINDINGS
            return state, self._good_fix(state, ts, pledge)
        if fix is None and lat is None:
            return state, NO_FINDINGS  # a reading with no GNSS fields says nothing about GNSS
        state.last_ts_ms = ts
        state.good_streak = 0
        if state.blind_since_ms is None:
            state.blind_since_ms = ts
        if not self._working(reading):
            return state, NO_FINDINGS
        state.blind_worked = True
        if state.lost_since_ms is None:
            state.lost_since_ms = ts
        state.lost_readings += 1
        lost_ms = ts - state.lost_since_ms
        if state.alarm or state.lost_readings < self.min_readings or lost_ms < self.min_s * 1000:
            return state, NO_FINDINGS
        state.alarm = True
        details = {"lost_since_ms": state.lost_since_ms, "lost_s": lost_ms / 1000.0}
        return state, (Finding(pledge.asset_id, self.kind, True, ts,
                               "GNSS fix lost while the machine works", details),)

    def _fix_back(self, state: JammingState, reading: Reading, since: int, lat: float,
                  lon: float, pledge: Pledge) -> Sequence[Finding]:
        """The first good fix after a blind spell from ``since``: raised if the machine
        moved unseen."""
        worked, plat, plon = state.blind_worked, state.last_lat, state.last_lon
        state.blind_since_ms, state.blind_worked = None, False
        state.last_lat, state.last_lon = lat, lon
        ts = reading.ts_ms
        if state.alarm or not worked or plat is None or plon is None or (
                ts - since < self.min_s * 1000):
            return self._good_fix(state, ts, pledge)
        moved = haversine_m(plat, plon, lat, lon)
        if moved < self.blind_move_m:
            return self._good_fix(state, ts, pledge)
        state.lost_since_ms, state.lost_readings = None, 0
        state.alarm, state.good_streak = True, 1  # this fix is the first good one
        details = {"lost_since_ms": since, "lost_s": (ts - since) / 1000.0,
                   "moved_m": round(moved, 1), "lat": lat, "lon": lon}
        return (Finding(pledge.asset_id, self.kind, True, ts,
                        "moved with no GNSS fix while the machine worked", details),)

    def _working(self, r: Reading) -> bool:
        return (r.ignition is True or (r.engine_rpm is not None and r.engine_rpm > self.rpm_min)
                or (r.speed_kmh is not None and r.speed_kmh > self.speed_kmh_min))

    def _good_fix(self, state: JammingState, ts: int, pledge: Pledge) -> Sequence[Finding]:
        state.lost_since_ms, state.lost_readings = None, 0
        if not state.alarm:
            return NO_FINDINGS
        state.good_streak += 1
        if state.good_streak < self.clear_fixes:
            return NO_FINDINGS
        state.alarm, state.good_streak = False, 0
        return (Finding(pledge.asset_id, self.kind, False, ts, "GNSS fix back"),)
