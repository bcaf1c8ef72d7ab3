"""Jamming: the GNSS fix is lost while the engine runs or the asset moves.

Thieves jam GNSS so a stolen machine cannot be followed. A reading without a
usable fix (no position, or ``gnss_fix`` below 2) that shows the machine at
work (ignition on, engine turning, or wheel speed) is evidence. The alarm
needs ``min_readings`` such readings spanning ``min_s``, so a tunnel, a
shed or a multipath glitch stays quiet; a reading with the engine off does
not break the run (a jammer does not care), a good fix does. Cleared after
``clear_fixes`` consecutive good fixes.

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
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["JammingDetector", "JammingState"]


@dataclass(slots=True)
class JammingState(StateRecord):
    last_ts_ms: int | None = None
    lost_since_ms: int | None = None  # first fix-less working reading of the run
    lost_readings: int = 0
    good_streak: int = 0
    alarm: bool = False


class JammingDetector(ReadingsOnly[JammingState]):
    kind = AlertKind.JAMMING
    state_type = JammingState

    def __init__(self, *, min_readings: int = 3, min_s: float = 900.0, clear_fixes: int = 2,
                 rpm_min: float = 50.0, speed_kmh_min: float = 3.0) -> None:
        self.min_readings, self.min_s, self.clear_fixes = min_readings, min_s, clear_fixes
        self.rpm_min, self.speed_kmh_min = rpm_min, speed_kmh_min

    def on_reading(
        self, state: JammingState, reading: Reading, pledge: Pledge
    ) -> tuple[JammingState, Sequence[Finding]]:
        ts = reading.ts_ms
        if state.last_ts_ms is not None and ts < state.last_ts_ms:
            return state, NO_FINDINGS
        fix = reading.gnss_fix
        if reading.lat is not None and (fix is None or fix >= 2):
            state.last_ts_ms = ts
            if not state.alarm:  # the common case, without _good_fix's call
                state.lost_since_ms, state.lost_readings = None, 0
                return state, NO_FINDINGS
            return state, self._good_fix(state, ts, pledge)
        if fix is None and reading.lat is None:
            return state, NO_FINDINGS  # a reading with no GNSS fields says nothing about GNSS
        state.last_ts_ms = ts
        state.good_streak = 0
        if not self._working(reading):
            return state, NO_FINDINGS
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
