"""Cloning: one device id reports from two sources at once.

A cloned tracker interleaves two streams under one id. Each switch between
them leaves a trace: the sequence number falls back although device time
moves on (two counters), or the position jumps impossibly far and back
(two places). ``min_switches`` such traces within ``window_s`` raise it;
``clear_after_s`` without one clears it. One jump away that stays is
``spoofing``'s teleport; a replayed run that climbs from an old number is
``spoofing``'s replay: neither switches back and forth.

This detector sees readings before the noise filters; exact redeliveries
(not newer than the newest reading) are ignored.

>>> det = CloningDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", None)
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> for i in range(6):  # the original at seq 500+, a clone at seq 10+
...     seq = 500 + i if i % 2 == 0 else 10 + i
...     state, found = det.on_reading(state, Reading("d1", seq, t0 + i * 60_000), pledge)
...     if found: print(i, found[0].details["switches"])
5 3
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.detectors.motion import NEAR_DEG, impossible_jump, max_speed_for
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["CloningDetector", "CloningState"]


@dataclass(slots=True)
class CloningState(StateRecord):
    max_ts_ms: int | None = None
    prev_seq: int | None = None
    fix_lat: float | None = None  # previous good fix, whichever stream it came from
    fix_lon: float | None = None
    fix_ts_ms: int | None = None
    switches: list[int] = field(default_factory=list)  # times of recent switches
    alarm: bool = False


class CloningDetector(ReadingsOnly[CloningState]):
    kind = AlertKind.CLONING
    state_type = CloningState
    raw = True  # judged before the noise filters

    def __init__(self, *, min_switches: int = 3, window_s: float = 6 * 3600.0,
                 clear_after_s: float = 3 * 3600.0, reboot_seq: int = 5) -> None:
        self.min_switches, self.window_ms = min_switches, int(window_s * 1000)
        self.clear_after_ms, self.reboot_seq = int(clear_after_s * 1000), reboot_seq

    def on_reading(
        self, state: CloningState, reading: Reading, pledge: Pledge
    ) -> tuple[CloningState, Sequence[Finding]]:
        ts = reading.ts_ms
        if state.max_ts_ms is not None and ts <= state.max_ts_ms:
            return state, NO_FINDINGS
        state.max_ts_ms = ts
        seq, prev = reading.seq, state.prev_seq
        state.prev_seq = seq
        # The sequence fell back (not a reboot), or the position jumped: a switch of source.
        fell = prev is not None and seq < prev and not seq <= self.reboot_seq < prev - 100
        switched = fell | self._jumped(state, reading, pledge)
        switches = state.switches
        if switched:
            switches.append(ts)
        if not switches:
            return state, NO_FINDINGS
        while switches and ts - switches[0] > self.window_ms:
            switches.pop(0)
        if state.alarm:
            if switches and ts - switches[-1] < self.clear_after_ms:
                return state, NO_FINDINGS
            state.alarm = False
            switches.clear()  # judged: a new incident needs new switches
            return state, (Finding(pledge.asset_id, self.kind, False, ts,
                                   "one source again"),)
        if len(switches) < self.min_switches:
            return state, NO_FINDINGS
        state.alarm = True
        return state, (Finding(pledge.asset_id, self.kind, True, ts,
                               "one device id reporting from two sources",
                               {"switches": len(switches), "seq": reading.seq,
                                "lat": reading.lat, "lon": reading.lon}),)

    def _jumped(self, state: CloningState, r: Reading, pledge: Pledge) -> bool:
        lat, lon, fix, hdop = r.lat, r.lon, r.gnss_fix, r.hdop
        if (lat is None or lon is None or (fix is not None and fix < 2)
                or (hdop is not None and hdop > 5.0)):
            return False
        flat, flon, fts = state.fix_lat, state.fix_lon, state.fix_ts_ms
        state.fix_lat, state.fix_lon, state.fix_ts_ms = lat, lon, r.ts_ms
        if flat is None or flon is None or fts is None:
            return False
        return abs(lat - flat) + abs(lon - flon) >= NEAR_DEG and impossible_jump(
            flat, flon, fts, lat, lon, r.ts_ms, hdop=r.hdop,
            max_speed_kmh=max_speed_for(pledge.asset_kind))

    def load_state(self, data: Mapping[str, Any]) -> CloningState:
        state = CloningState.from_dict(data)
        state.switches = [int(t) for t in state.switches]
        return state
