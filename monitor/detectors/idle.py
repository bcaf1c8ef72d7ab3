"""Idle: the asset has done no work for longer than ``pledge.idle_after_s``.

A reading shows activity when the ignition is on, or the engine turns
(``engine_rpm > rpm_min``), or it draws or delivers power
(``|power_kw| > power_kw_min``), or it moves (``speed_kmh > speed_kmh_min``,
above GPS speed noise). A reading carrying none of those four fields is no
evidence either way and is skipped, so a tracker that never reports them
never makes its asset look idle.

Two rules, one alert:

- abrupt: no activity for ``pledge.idle_after_s``, the span from the first
  inactive reading of a run to the latest one;
- decline (assets with a duty cycle, ``SEASONAL_KINDS``): utilisation
  falls short of the asset's own seasonal baseline
  (hour of weekday/weekend profile, ``monitor.utilisation``) by more than a
  slack, summed by CUSUM, so a machine whose working hours fade out over
  days is caught, and one that stops in its working hours is caught within
  a few of them.

Idle is judged from readings only: the span from the first inactive reading
of a run to the latest one. A tick adds nothing, because a silent tracker is
``tracker_dark``'s finding, not evidence that the machine stands still; the
cost is that idleness is raised at the first reading past the threshold
(at most one cadence late). Readings inside the pledge's planned downtime
count as neither: the run starts again after it.

>>> det = IdleDetector()
>>> pledge = Pledge("a1", "l1", "b1", "excavator", None, idle_after_s=3600)
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> for minutes in (0, 30, 60):
...     off = Reading("d1", minutes, t0 + minutes * 60_000, ignition=False, engine_rpm=0.0)
...     state, found = det.on_reading(state, off, pledge)
>>> found[0].active, found[0].details["idle_s"]
(True, 3600.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.model import AlertKind, Finding, Pledge, in_windows
from monitor.utilisation import UtilisationBaseline

__all__ = ["IdleDetector", "IdleState", "SEASONAL_KINDS"]

#: Asset kinds that keep a duty cycle, judged against their own baseline. Trucks and
#: ships work when there is a trip: their utilisation has no season to fall short of.
SEASONAL_KINDS = frozenset({"plant", "construction", "grid", "excavator", "pump"})


@dataclass(slots=True)
class IdleState(StateRecord):
    last_ts_ms: int | None = None  # newest reading that carried activity evidence
    idle_since_ms: int | None = None  # first inactive reading of the current run
    alarm: bool = False
    reported_ms: int | None = None  # time of the last active finding
    declining: bool = False  # the utilisation CUSUM is over its alarm level
    util: list[float] = field(default_factory=UtilisationBaseline.initial)


class IdleDetector(ReadingsOnly[IdleState]):
    kind = AlertKind.IDLE
    state_type = IdleState

    def __init__(self, *, rpm_min: float = 50.0, power_kw_min: float = 0.5,
                 speed_kmh_min: float = 3.0,
                 baseline: UtilisationBaseline | None = None,
                 seasonal_kinds: frozenset[str] = SEASONAL_KINDS) -> None:
        self.rpm_min, self.power_kw_min, self.speed_kmh_min = rpm_min, power_kw_min, speed_kmh_min
        self.baseline = baseline or UtilisationBaseline()
        self.seasonal_kinds = seasonal_kinds

    def on_reading(
        self, state: IdleState, reading: Reading, pledge: Pledge
    ) -> tuple[IdleState, Sequence[Finding]]:
        active = self.shows_activity(reading)
        ts = reading.ts_ms
        if active is None or (state.last_ts_ms is not None and ts < state.last_ts_ms):
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        # Away on an approved move (a workshop visit) is planned standing still too.
        planned = bool(pledge.planned_downtime or pledge.approved_moves) and (
            in_windows(pledge.planned_downtime, ts) or in_windows(pledge.approved_moves, ts))
        if pledge.asset_kind in self.seasonal_kinds:
            found = self._judge_decline(state, ts, active, planned, pledge)
            if found:
                return state, found
        if active or planned:
            state.idle_since_ms = None  # working, or planned to stand still
            if not state.alarm or state.declining:
                return state, NO_FINDINGS
            state.alarm, state.reported_ms = False, None
            why = "activity resumed" if active else "planned downtime"
            return state, (Finding(pledge.asset_id, self.kind, False, ts, why),)
        if state.idle_since_ms is None:
            state.idle_since_ms = ts
        if not state.alarm and ts - state.idle_since_ms < pledge.idle_after_s * 1000.0:
            return state, NO_FINDINGS  # _judge_idle's first answer, without its call
        return state, self._judge_idle(state, ts, pledge)

    def _judge_decline(self, state: IdleState, ts: int, active: bool, planned: bool,
                       pledge: Pledge) -> Sequence[Finding]:
        util, base = state.util, self.baseline
        if planned:
            base.skip_hour(util)
            base.reset(util)
        else:
            base.observe(util, ts, active, pledge.site.lon if pledge.site else 0.0)
        # Hysteresis: once over, it stays over until the shortfall has mostly been made up.
        over = base.cusum(util) >= (0.25 * base.h if state.declining else base.h)
        if over == state.declining:
            return NO_FINDINGS
        state.declining = over
        if over and not state.alarm:
            state.alarm, state.reported_ms = True, ts
            details = {"cusum": round(base.cusum(util), 2), "rule": "below own baseline"}
            return (Finding(pledge.asset_id, self.kind, True, ts,
                            "utilisation far below its own seasonal baseline", details),)
        if not over and state.alarm and state.idle_since_ms is None:
            state.alarm, state.reported_ms = False, None
            return (Finding(pledge.asset_id, self.kind, False, ts,
                            "utilisation back to its baseline"),)
        return NO_FINDINGS

    def shows_activity(self, reading: Reading) -> bool | None:
        """True/False when the reading says whether the machine works; None when it can't."""
        ignition, rpm, kw, speed = (reading.ignition, reading.engine_rpm, reading.power_kw,
                                    reading.speed_kmh)
        if ignition is None and rpm is None and kw is None and speed is None:
            return None
        return (ignition is True or (rpm is not None and rpm > self.rpm_min)
                or (kw is not None and abs(kw) > self.power_kw_min)
                or (speed is not None and speed > self.speed_kmh_min))

    def load_state(self, data: Mapping[str, Any]) -> IdleState:
        state = IdleState.from_dict(data)
        fresh = UtilisationBaseline.initial()
        state.util = [float(x) for x in state.util] if len(state.util) == len(fresh) else fresh
        return state

    def _judge_idle(self, state: IdleState, ts: int, pledge: Pledge) -> Sequence[Finding]:
        assert state.idle_since_ms is not None
        limit_ms = pledge.idle_after_s * 1000.0
        if not state.alarm:
            if ts - state.idle_since_ms < limit_ms:
                return NO_FINDINGS
            state.alarm = True
        elif state.reported_ms is not None and ts - state.reported_ms < limit_ms:
            return NO_FINDINGS  # re-told once per threshold period while it lasts
        state.reported_ms = ts
        idle_s = (ts - state.idle_since_ms) / 1000.0
        details = {"idle_since_ms": state.idle_since_ms, "idle_s": idle_s}
        return (Finding(pledge.asset_id, self.kind, True, ts,
                        "no engine or power activity", details),)
