"""Fuel theft: the tank level drops suddenly while the machine stands idle.

Burning fuel needs a running engine; a drop of ``min_drop_pct`` points or
more within ``window_s`` while the engine is off and the asset is not
moving is siphoning. The level is judged against the highest idle reading
of the window (not the previous one), so a slow siphon over several readings
is caught and sensor slosh of a point or two is not. Refuelling raises the
reference. The finding is an event: it clears after ``clear_after_s`` with
no further drop.

>>> det = FuelTheftDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", None)
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> for i, fuel in enumerate([62.0, 61.5, 40.0]):
...     r = Reading("d1", i, t0 + i * 300_000, fuel_pct=fuel, ignition=False, speed_kmh=0.0)
...     state, found = det.on_reading(state, r, pledge)
>>> found[0].active, found[0].details["drop_pct"]
(True, 22.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["FuelTheftDetector", "FuelTheftState"]


@dataclass(slots=True)
class FuelTheftState(StateRecord):
    last_ts_ms: int | None = None  # newest reading that carried fuel_pct
    ref_pct: float | None = None  # highest idle level in the window
    ref_ts_ms: int | None = None
    alarm: bool = False
    alarm_ms: int | None = None  # time of the latest drop while alarmed


class FuelTheftDetector(ReadingsOnly[FuelTheftState]):
    kind = AlertKind.FUEL_THEFT
    state_type = FuelTheftState

    def __init__(self, *, min_drop_pct: float = 8.0, window_s: float = 3 * 3600.0,
                 clear_after_s: float = 2 * 3600.0, rpm_min: float = 50.0,
                 speed_kmh_min: float = 3.0) -> None:
        self.min_drop_pct, self.window_ms = min_drop_pct, window_s * 1000
        self.clear_after_ms = clear_after_s * 1000
        self.rpm_min, self.speed_kmh_min = rpm_min, speed_kmh_min

    def on_reading(
        self, state: FuelTheftState, reading: Reading, pledge: Pledge
    ) -> tuple[FuelTheftState, Sequence[Finding]]:
        fuel, ts = reading.fuel_pct, reading.ts_ms
        if fuel is None or (state.last_ts_ms is not None and ts < state.last_ts_ms):
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        rpm, speed = reading.engine_rpm, reading.speed_kmh
        # Not idle: burning fuel. (_maybe_clear only when alarmed: most readings are not.)
        if (reading.ignition is True or (rpm is not None and rpm > self.rpm_min)
                or (speed is not None and speed > self.speed_kmh_min)):
            state.ref_pct = state.ref_ts_ms = None  # burning fuel: no theft judged
            return state, self._maybe_clear(state, ts, pledge) if state.alarm else NO_FINDINGS
        ref = state.ref_pct
        if ref is None or fuel >= ref or ts - (state.ref_ts_ms or ts) > self.window_ms:
            state.ref_pct, state.ref_ts_ms = fuel, ts
            return state, self._maybe_clear(state, ts, pledge) if state.alarm else NO_FINDINGS
        drop = ref - fuel
        if drop < self.min_drop_pct:
            return state, self._maybe_clear(state, ts, pledge) if state.alarm else NO_FINDINGS
        state.ref_pct, state.ref_ts_ms = fuel, ts  # a second siphon is a second drop
        was = state.alarm
        state.alarm, state.alarm_ms = True, ts
        details = {"drop_pct": round(drop, 1), "from_pct": ref, "to_pct": fuel}
        reason = "fuel level dropped while idle" if not was else "fuel level dropped again"
        return state, (Finding(pledge.asset_id, self.kind, True, ts, reason, details),)

    def _maybe_clear(self, state: FuelTheftState, ts: int, pledge: Pledge) -> Sequence[Finding]:
        if not state.alarm or state.alarm_ms is None or ts - state.alarm_ms < self.clear_after_ms:
            return NO_FINDINGS
        state.alarm, state.alarm_ms = False, None
        return (Finding(pledge.asset_id, self.kind, False, ts, "no further fuel loss"),)
