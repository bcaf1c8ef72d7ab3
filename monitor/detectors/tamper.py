"""Tamper: the tracker's case was opened, or its external power was cut.

- ``tamper`` true -> active at once, cause ``case_opened``.
- ``ext_power`` false after the tracker has once reported it true -> active,
  cause ``ext_power_cut`` (a battery-only tracker never reports true, so it
  never raises this).
- A second cause during an incident re-tells the finding with both causes.
- Cleared after ``clear_after_readings`` consecutive normal readings. A
  reading is normal only if it reports every flag behind the incident as
  normal; one that omits such a flag is no evidence and keeps the count.

>>> det = TamperDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", None)
>>> t0 = 1_764_331_200_000
>>> state, _ = det.on_reading(det.initial_state(), Reading("d1", 1, t0, ext_power=True), pledge)
>>> state, found = det.on_reading(state, Reading("d1", 2, t0 + 60_000, ext_power=False), pledge)
>>> found[0].active, found[0].details["cause"]
(True, 'ext_power_cut')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, StateRecord
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["TamperDetector", "TamperState"]

_REASONS = {"case_opened": "tracker case opened", "ext_power_cut": "external power cut"}


@dataclass(slots=True)
class TamperState(StateRecord):
    last_ts_ms: int | None = None  # newest reading that carried a tamper or power flag
    ext_power_seen: bool = False
    case_opened: bool = False
    power_cut: bool = False
    normal_streak: int = 0


class TamperDetector:
    kind = AlertKind.TAMPER

    def __init__(self, *, clear_after_readings: int = 3) -> None:
        self.clear_after_readings = clear_after_readings

    def initial_state(self) -> TamperState:
        return TamperState()

    def on_reading(
        self, state: TamperState, reading: Reading, pledge: Pledge
    ) -> tuple[TamperState, Sequence[Finding]]:
        tamper, ext = reading.tamper, reading.ext_power
        ts = reading.ts_ms
        if (tamper is None and ext is None) or (
            state.last_ts_ms is not None and ts < state.last_ts_ms
        ):
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        case = tamper is True
        cut = ext is False and state.ext_power_seen
        if ext is True:
            state.ext_power_seen = True
        if case or cut:
            state.normal_streak = 0
            news = (case and not state.case_opened) or (cut and not state.power_cut)
            state.case_opened |= case
            state.power_cut |= cut
            return state, (self._active(state, ts, pledge),) if news else NO_FINDINGS
        return state, self._judge_clear(state, reading, pledge)

    def on_tick(
        self, state: TamperState, pledge: Pledge, now_ms: int
    ) -> tuple[TamperState, Sequence[Finding]]:
        return state, NO_FINDINGS  # flags arrive with readings; silence proves nothing

    def dump_state(self, state: TamperState) -> dict[str, Any]:
        return state.to_dict()

    def load_state(self, data: Mapping[str, Any]) -> TamperState:
        return TamperState.from_dict(data)

    def _judge_clear(self, state: TamperState, reading: Reading,
                     pledge: Pledge) -> Sequence[Finding]:
        if not (state.case_opened or state.power_cut):
            return NO_FINDINGS
        if (state.case_opened and reading.tamper is None) or (
            state.power_cut and reading.ext_power is None
        ):
            return NO_FINDINGS
        state.normal_streak += 1
        if state.normal_streak < self.clear_after_readings:
            return NO_FINDINGS
        state.case_opened = state.power_cut = False
        state.normal_streak = 0
        return (Finding(pledge.asset_id, self.kind, False, reading.ts_ms,
                        "tamper and power flags normal again"),)

    def _active(self, state: TamperState, ts: int, pledge: Pledge) -> Finding:
        causes = [c for c, on in (("case_opened", state.case_opened),
                                  ("ext_power_cut", state.power_cut)) if on]
        reason = "; ".join(_REASONS[c] for c in causes)
        return Finding(pledge.asset_id, self.kind, True, ts, reason,
                       {"cause": "+".join(causes), "causes": causes})
