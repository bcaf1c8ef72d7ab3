"""Power cut: the tracker lost external power and runs on its backup battery.

Raised when ``ext_power`` is false after the tracker has once reported it
true (a battery-only tracker never reports true, so it never raises this),
for ``min_readings`` consecutive readings. Cleared after
``clear_after_readings`` consecutive readings with power back; a reading
that omits the flag is no evidence either way.

>>> det = PowerCutDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", None)
>>> t0 = 1_764_331_200_000
>>> state, _ = det.on_reading(det.initial_state(), Reading("d1", 1, t0, ext_power=True), pledge)
>>> state, found = det.on_reading(state, Reading("d1", 2, t0 + 60_000, ext_power=False), pledge)
>>> found[0].active, found[0].reason
(True, 'external power cut')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["PowerCutDetector", "PowerCutState"]


@dataclass(slots=True)
class PowerCutState(StateRecord):
    last_ts_ms: int | None = None  # newest reading that carried ext_power
    seen_on: bool = False
    off_since_ms: int | None = None
    off_streak: int = 0
    on_streak: int = 0
    alarm: bool = False


class PowerCutDetector(ReadingsOnly[PowerCutState]):
    kind = AlertKind.POWER_CUT
    state_type = PowerCutState

    def __init__(self, *, min_readings: int = 1, clear_after_readings: int = 3) -> None:
        self.min_readings, self.clear_after_readings = min_readings, clear_after_readings

    def on_reading(
        self, state: PowerCutState, reading: Reading, pledge: Pledge
    ) -> tuple[PowerCutState, Sequence[Finding]]:
        ext, ts = reading.ext_power, reading.ts_ms
        if ext is None or (state.last_ts_ms is not None and ts < state.last_ts_ms):
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        if ext:
            state.seen_on, state.off_since_ms, state.off_streak = True, None, 0
            if not state.alarm:
                return state, NO_FINDINGS
            state.on_streak += 1
            if state.on_streak < self.clear_after_readings:
                return state, NO_FINDINGS
            state.alarm, state.on_streak = False, 0
            return state, (Finding(pledge.asset_id, self.kind, False, ts,
                                   "external power restored"),)
        if not state.seen_on:
            return state, NO_FINDINGS
        state.on_streak = 0
        if state.off_since_ms is None:
            state.off_since_ms = ts
        state.off_streak += 1
        if state.alarm or state.off_streak < self.min_readings:
            return state, NO_FINDINGS
        state.alarm = True
        details = {"cause": "ext_power_cut", "off_since_ms": state.off_since_ms,
                   "battery_v": reading.battery_v}
        return state, (Finding(pledge.asset_id, self.kind, True, ts, "external power cut",
                               details),)
