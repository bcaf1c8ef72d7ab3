"""Tamper: the tracker's case was opened.

- ``tamper`` true -> active at once.
- Cleared after ``clear_after_readings`` consecutive readings reporting
  ``tamper`` false; a reading that omits the flag is no evidence and keeps
  the count. (External power loss is ``power_cut``'s finding.)

>>> det = TamperDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", None)
>>> t0 = 1_764_331_200_000
>>> state, _ = det.on_reading(det.initial_state(), Reading("d1", 1, t0, tamper=False), pledge)
>>> state, found = det.on_reading(state, Reading("d1", 2, t0 + 60_000, tamper=True), pledge)
>>> found[0].active, found[0].reason
(True, 'tracker case opened')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["TamperDetector", "TamperState"]


@dataclass(slots=True)
class TamperState(StateRecord):
    last_ts_ms: int | None = None  # newest reading that carried the tamper flag
    case_opened: bool = False
    normal_streak: int = 0


class TamperDetector(ReadingsOnly[TamperState]):
    kind = AlertKind.TAMPER
    state_type = TamperState

    def __init__(self, *, clear_after_readings: int = 3) -> None:
        self.clear_after_readings = clear_after_readings

    def on_reading(
        self, state: TamperState, reading: Reading, pledge: Pledge
    ) -> tuple[TamperState, Sequence[Finding]]:
        tamper, ts = reading.tamper, reading.ts_ms
        if tamper is None or (state.last_ts_ms is not None and ts < state.last_ts_ms):
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        if tamper:
            state.normal_streak = 0
            if state.case_opened:
                return state, NO_FINDINGS
            state.case_opened = True
            return state, (Finding(pledge.asset_id, self.kind, True, ts, "tracker case opened",
                                   {"cause": "case_opened"}),)
        if not state.case_opened:
            return state, NO_FINDINGS
        state.normal_streak += 1
        if state.normal_streak < self.clear_after_readings:
            return state, NO_FINDINGS
        state.case_opened, state.normal_streak = False, 0
        return state, (Finding(pledge.asset_id, self.kind, False, ts, "tracker case closed"),)
