"""Equipment fault: temperature or vibration creeping above what the machine's load explains.

Each series is fitted to the machine's load (power draw, else engine rpm)
by a robust, adaptive regression with a CUSUM on its residual
(``monitor.anomaly.FaultScorer``), while the machine runs: at rest its
temperature is the weather's, and a fault shows under load. The score rises as
the residual accumulates above its slack, so an overheating that ramps up
over a day is caught as well as a sudden one, while a light weekend or a
meal break (less load, less heat) is not a fault. Each series is fitted
twice: a fast fit (about 20 readings of memory) follows the weather's daily
swing and catches a sudden change; a slow one (``anomaly.SLOW_ALPHA``, about
17 hours of running) whose spread takes in that swing catches a fault that
ramps up slowly enough for the fast fit to follow it (an engine 35 C hotter
at the same load after half a day: each reading only a quarter of a degree
above the last). The larger of the two scores counts. The alarm is raised when
a series' score reaches ``threshold``; it clears after ``clear_readings``
readings all below ``clear_below``. Only rises count: a machine that cools
or calms is not failing. Power draw itself is not judged: it is the load.

>>> det = EquipmentFaultDetector()
>>> pledge = Pledge("a1", "l1", "b1", "pump", None)
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> temps = [40.0 + (i % 4) * 0.5 for i in range(60)] + [70.0, 75.0, 80.0]
>>> for i, temp in enumerate(temps):
...     r = Reading("d1", i, t0 + i * 300_000, temp_c=temp, ignition=True, power_kw=50.0)
...     state, found = det.on_reading(state, r, pledge)
...     if found: print(i, found[0].active, found[0].details["series"])
62 True temp_c
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.wire import Reading
from monitor.anomaly import FAULT_WIDTH, LOAD_WIDTH, FaultScorer
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["EquipmentFaultDetector", "EquipmentFaultState", "SERIES"]

#: (wire field, scorer): what is watched and its smallest meaningful spread.
SERIES: tuple[tuple[str, FaultScorer], ...] = (
    ("temp_c", FaultScorer.for_series(floor=2.0)),
    ("vibration_mm_s", FaultScorer.for_series(floor=0.3, relative_floor=0.08)),
)
_WIDTH = FAULT_WIDTH  # floats of state per series
(_TEMP_NAME, _TEMP), (_VIBRATION_NAME, _VIBRATION) = SERIES
_FAST = LOAD_WIDTH  # floats of one fit: a checkpoint from before the slow fit had only these


def _fresh_base() -> list[float]:
    return [0.0] * (_WIDTH * len(SERIES))


@dataclass(slots=True)
class EquipmentFaultState(StateRecord):
    last_ts_ms: int | None = None
    base: list[float] = field(default_factory=_fresh_base)
    calm: int = 0  # consecutive calm readings while alarmed
    alarm: bool = False


class EquipmentFaultDetector(ReadingsOnly[EquipmentFaultState]):
    kind = AlertKind.EQUIPMENT_FAULT
    state_type = EquipmentFaultState

    def __init__(self, *, threshold: float = 0.5, clear_below: float = 0.1,
                 clear_readings: int = 6) -> None:
        self.threshold, self.clear_below, self.clear_readings = (threshold, clear_below,
                                                                 clear_readings)

    def on_reading(
        self, state: EquipmentFaultState, reading: Reading, pledge: Pledge
    ) -> tuple[EquipmentFaultState, Sequence[Finding]]:
        ts = reading.ts_ms
        if state.last_ts_ms is not None and ts < state.last_ts_ms:
            return state, NO_FINDINGS
        if reading.temp_c is None and reading.vibration_mm_s is None:
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        rpm = reading.engine_rpm
        if not (reading.ignition is True or (rpm is not None and rpm > 50.0)):
            return state, NO_FINDINGS  # at rest the heat is the weather's, not the machine's
        top, name, value = self._score(state, reading)
        if name is None:
            return state, NO_FINDINGS
        if state.alarm:
            state.calm = state.calm + 1 if top < self.clear_below else 0
            if state.calm < self.clear_readings:
                return state, NO_FINDINGS
            state.alarm, state.calm = False, 0
            return state, (Finding(pledge.asset_id, self.kind, False, ts,
                                   "sensors back in their normal range"),)
        if top < self.threshold:
            return state, NO_FINDINGS
        state.alarm, state.calm = True, 0
        details = {"series": name, "value": value, "score": round(top, 3)}
        return state, (Finding(pledge.asset_id, self.kind, True, ts,
                               f"{name} above what the load explains", details),)

    def _score(self, state: EquipmentFaultState,
               r: Reading) -> tuple[float, str | None, float | None]:
        load = r.power_kw if r.power_kw is not None else (r.engine_rpm or 0.0)
        base, top, name, top_value = state.base, 0.0, None, None
        # SERIES written out (temperature, then vibration): this runs for every reading of
        # a working machine, and a loop over zip() cost more than the scoring.
        temp, vibration = r.temp_c, r.vibration_mm_s
        if temp is not None:
            top, name, top_value = _TEMP.score_learn(base, load, temp, 0), _TEMP_NAME, temp
        if vibration is not None:
            score = _VIBRATION.score_learn(base, load, vibration, _WIDTH)
            if name is None or score > top:
                top, name, top_value = score, _VIBRATION_NAME, vibration
        return top, name, top_value

    def load_state(self, data: Mapping[str, Any]) -> EquipmentFaultState:
        state = EquipmentFaultState.from_dict(data)
        state.base = [float(x) for x in state.base]
        fresh = _fresh_base()
        if len(state.base) == _FAST * len(SERIES):  # saved before the slow fits: keep the fast
            for i in range(len(SERIES)):
                fresh[i * _WIDTH:i * _WIDTH + _FAST] = state.base[i * _FAST:(i + 1) * _FAST]
            state.base = fresh
        elif len(state.base) != len(fresh):
            state.base = fresh
        return state
