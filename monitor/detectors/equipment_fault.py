"""Equipment fault: a sensor series leaves its own normal range and stays out.

Temperature and vibration are each scored by a robust adaptive
baseline (``monitor.anomaly.SeriesScorer``), kept apart for the machine
running and at rest (an engine's heat and vibration are a level shift, not
a fault). Both score rises only (a machine that cools or calms is not failing).
The alarm needs ``min_readings`` consecutive readings scoring at least
``threshold`` on some series (one spike is noise); it clears after
``clear_readings`` readings all below ``clear_below``.

>>> det = EquipmentFaultDetector()
>>> pledge = Pledge("a1", "l1", "b1", "pump", None)
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> temps = [40.0 + (i % 4) * 0.5 for i in range(60)] + [70.0, 75.0, 80.0]
>>> for i, temp in enumerate(temps):
...     r = Reading("d1", i, t0 + i * 300_000, temp_c=temp, ignition=True)
...     state, found = det.on_reading(state, r, pledge)
>>> found[0].active, found[0].details["series"]
(True, 'temp_c')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.wire import Reading
from monitor.anomaly import SeriesScorer
from monitor.detectors.base import NO_FINDINGS, StateRecord
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["EquipmentFaultDetector", "EquipmentFaultState", "SERIES"]

#: (wire field, scorer): what is watched and how it may deviate.
SERIES: tuple[tuple[str, SeriesScorer], ...] = (
    ("temp_c", SeriesScorer(floor=1.5, direction=1)),
    ("vibration_mm_s", SeriesScorer(floor=0.5, relative_floor=0.1, direction=1)),
)
# Power draw is not watched here: a plant's draw steps with its load (meal breaks, shift
# hand-overs) by half its rating, and judged alone it raised false alarms in the demo.


def _fresh_base() -> list[float]:
    return [0.0] * (3 * 2 * len(SERIES))  # (level, spread, count) per series, at rest / running


@dataclass(slots=True)
class EquipmentFaultState(StateRecord):
    last_ts_ms: int | None = None
    base: list[float] = field(default_factory=_fresh_base)
    hot: int = 0  # consecutive anomalous readings
    calm: int = 0  # consecutive calm readings while alarmed
    alarm: bool = False


class EquipmentFaultDetector:
    kind = AlertKind.EQUIPMENT_FAULT
    ticks = False  # on_tick does nothing: the engine's clock task skips it

    def __init__(self, *, threshold: float = 0.5, min_readings: int = 3,
                 clear_below: float = 0.2, clear_readings: int = 6) -> None:
        self.threshold, self.min_readings = threshold, min_readings
        self.clear_below, self.clear_readings = clear_below, clear_readings

    def initial_state(self) -> EquipmentFaultState:
        return EquipmentFaultState()

    def on_reading(
        self, state: EquipmentFaultState, reading: Reading, pledge: Pledge
    ) -> tuple[EquipmentFaultState, Sequence[Finding]]:
        ts = reading.ts_ms
        if state.last_ts_ms is not None and ts < state.last_ts_ms:
            return state, NO_FINDINGS
        top, name, value = self._score(state, reading)
        if name is None:
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        if state.alarm:
            state.calm = state.calm + 1 if top < self.clear_below else 0
            if state.calm < self.clear_readings:
                return state, NO_FINDINGS
            state.alarm, state.calm, state.hot = False, 0, 0
            return state, (Finding(pledge.asset_id, self.kind, False, ts,
                                   "sensors back in their normal range"),)
        state.hot = state.hot + 1 if top >= self.threshold else 0
        if state.hot < self.min_readings:
            return state, NO_FINDINGS
        state.alarm, state.calm = True, 0
        details = {"series": name, "value": value, "score": round(top, 3)}
        return state, (Finding(pledge.asset_id, self.kind, True, ts,
                               f"{name} outside its normal range", details),)

    def _score(self, state: EquipmentFaultState,
               r: Reading) -> tuple[float, str | None, float | None]:
        running = r.ignition is True or (r.engine_rpm is not None and r.engine_rpm > 50.0)
        base, top, name, top_value = state.base, 0.0, None, None
        for i, (field_name, scorer) in enumerate(SERIES):
            value = getattr(r, field_name)
            if value is None:
                continue
            at = (i * 2 + running) * 3
            triple = base[at:at + 3]
            score = scorer.score_learn(triple, value)
            base[at:at + 3] = triple
            if name is None or score > top:
                top, name, top_value = score, field_name, value
        return top, name, top_value

    def on_tick(
        self, state: EquipmentFaultState, pledge: Pledge, now_ms: int
    ) -> tuple[EquipmentFaultState, Sequence[Finding]]:
        return state, NO_FINDINGS

    def dump_state(self, state: EquipmentFaultState) -> dict[str, Any]:
        data = state.to_dict()
        data["base"] = list(state.base)
        return data

    def load_state(self, data: Mapping[str, Any]) -> EquipmentFaultState:
        state = EquipmentFaultState.from_dict(data)
        state.base = [float(x) for x in state.base]
        if len(state.base) != len(_fresh_base()):
            state.base = _fresh_base()
        return state
