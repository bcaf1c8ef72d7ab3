"""Spoofing: the tracker reports a story that cannot be true.

Three causes, one alert (the details name which):

- ``teleport``: a fix impossibly far from the last trusted one (``motion``),
  confirmed by ``confirm_fixes`` fixes that go on plausibly from it (a
  single wild fix is GPS noise, and fixes alternating between two places
  are ``cloning``). Cleared when fixes are again where the trusted one
  could have reached.
- ``frozen``: ``frozen_readings`` consecutive readings of a working machine
  (ignition on, engine turning or vibrating) with a position identical to
  the metre: real GNSS noise moves every fix. Cleared when it moves again.
- ``replay``: readings with fresh device time but sequence numbers already
  used, continuing an old sequence (``confirm_fixes`` in a row). A sequence
  restarting near zero is a reboot, not a replay. Cleared when new
  sequence numbers resume.
- ``ghost``: a vehicle that drives itself (``DRIVES_ITSELF``: a truck; machines
  are carried, ships drift with the current) whose fixes move at road speed
  (``ghost_kmh``) while its own engine is off, ``ghost_readings`` in a row: a
  replayed or simulated GNSS track (a recording of yesterday's drive played
  to a parked truck starts where it stands, so it makes no jump). Not during
  approved moves. Cleared after ``clear_readings`` readings that agree.

This detector sees readings before the noise filters (they would drop the
very fixes it judges); exact redeliveries (not newer than the newest
reading) are ignored.

>>> det = SpoofingDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", None)
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> for i, lat in enumerate([48.0, 48.0001, 52.0, 52.0001, 52.0]):
...     r = Reading("d1", i, t0 + i * 300_000, lat=lat, lon=11.0, gnss_fix=3, hdop=1.0)
...     state, found = det.on_reading(state, r, pledge)
...     if found: print(i, found[0].details["cause"])
3 teleport
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.detectors.fences import haversine_m
from monitor.detectors.motion import NEAR_DEG, impossible_jump, max_speed_for
from monitor.model import AlertKind, Finding, Pledge, in_windows

__all__ = ["SpoofingDetector", "SpoofingState", "DRIVES_ITSELF"]

#: Asset kinds that move only under their own power, so never at road speed with the engine off.
DRIVES_ITSELF = frozenset({"truck"})
_M_PER_DEG_MAX = 111_200.0  # no degree of latitude or longitude is longer
_CAUSES = ("teleport", "frozen", "replay", "ghost")
_REASONS = {"teleport": "position jumped impossibly far and stayed",
            "frozen": "position frozen while the machine works",
            "replay": "old sequence numbers replayed with fresh time",
            "ghost": "position moves at road speed while the engine is off"}


@dataclass(slots=True)
class SpoofingState(StateRecord):
    max_ts_ms: int | None = None
    max_seq: int | None = None
    prev_seq: int | None = None
    fix_lat: float | None = None  # last trusted fix
    fix_lon: float | None = None
    fix_ts_ms: int | None = None
    sus_lat: float | None = None  # where an impossible jump landed
    sus_lon: float | None = None
    sus_ts_ms: int | None = None
    sus_fixes: int = 0
    frozen_lat: float | None = None
    frozen_lon: float | None = None
    frozen_count: int = 0
    stale_run: int = 0
    fresh_run: int = 0
    teleport: bool = False
    frozen: bool = False
    replay: bool = False
    back_fixes: int = 0
    ghost: bool = False
    ghost_run: int = 0  # readings in a row moving fast with the engine off (or agreeing, if ghost)


class SpoofingDetector(ReadingsOnly[SpoofingState]):
    kind = AlertKind.SPOOFING
    state_type = SpoofingState
    raw = True  # judged before the noise filters

    def __init__(self, *, confirm_fixes: int = 2, frozen_readings: int = 6,
                 frozen_m: float = 1.0, clear_readings: int = 3,
                 reboot_seq: int = 5, ghost_kmh: float = 20.0, ghost_readings: int = 3) -> None:
        self.confirm_fixes, self.frozen_readings, self.frozen_m = (confirm_fixes,
                                                                   frozen_readings, frozen_m)
        self.clear_readings, self.reboot_seq = clear_readings, reboot_seq
        self.ghost_kmh, self.ghost_readings = ghost_kmh, ghost_readings

    def on_reading(
        self, state: SpoofingState, reading: Reading, pledge: Pledge
    ) -> tuple[SpoofingState, Sequence[Finding]]:
        ts = reading.ts_ms
        if state.max_ts_ms is not None and ts <= state.max_ts_ms:
            return state, NO_FINDINGS
        state.max_ts_ms = ts
        was = (state.teleport, state.frozen, state.replay, state.ghost)
        seq, top = reading.seq, state.max_seq
        if top is not None and seq > top and not state.replay:
            # _sequence's common case, without its call: the next number, nothing to clear.
            state.prev_seq = state.max_seq = seq
            state.stale_run = 0
            state.fresh_run += 1
        else:
            self._sequence(state, seq)
        lat, fix, hdop = reading.lat, reading.gnss_fix, reading.hdop
        if (lat is not None and (fix is None or fix >= 2) and (hdop is None or hdop <= 5.0)
                and not state.replay):
            self._position(state, reading, pledge)
        now = (state.teleport, state.frozen, state.replay, state.ghost)
        if now == was:
            return state, NO_FINDINGS
        if any(n and not w for n, w in zip(now, was, strict=True)):
            causes = [c for c, on in zip(_CAUSES, now, strict=True) if on]
            details = {"cause": "+".join(causes), "lat": reading.lat, "lon": reading.lon,
                       "seq": reading.seq}
            return state, (Finding(pledge.asset_id, self.kind, True, ts,
                                   "; ".join(_REASONS[c] for c in causes), details),)
        if any(now):
            return state, NO_FINDINGS
        return state, (Finding(pledge.asset_id, self.kind, False, ts, "reports consistent again"),)

    def _sequence(self, state: SpoofingState, seq: int) -> None:
        top, prev = state.max_seq, state.prev_seq
        state.prev_seq = seq
        if top is None or seq > top or (seq <= self.reboot_seq < top - 100):
            state.max_seq = seq
            state.stale_run = 0
            state.fresh_run += 1
            if state.replay and state.fresh_run >= self.clear_readings:
                state.replay = False
            return
        state.fresh_run = 0
        # An old number with fresh time: part of a replayed run if it continues the last one.
        state.stale_run = state.stale_run + 1 if prev is not None and seq > prev else 1
        if state.stale_run >= self.confirm_fixes + 1:
            state.replay = True

    def _position(self, state: SpoofingState, r: Reading, pledge: Pledge) -> None:
        lat, lon = r.lat, r.lon
        assert lat is not None and lon is not None
        self._frozen(state, r, lat, lon)
        if state.fix_lat is None or state.fix_lon is None or state.fix_ts_ms is None:
            state.fix_lat, state.fix_lon, state.fix_ts_ms = lat, lon, r.ts_ms
            return
        flat, flon, fts = state.fix_lat, state.fix_lon, state.fix_ts_ms
        apart_deg = abs(lat - flat) + abs(lon - flon)  # x the longest degree: a bound in metres
        if state.ghost or state.ghost_run or (
                r.ignition is False and pledge.asset_kind in DRIVES_ITSELF
                and apart_deg * _M_PER_DEG_MAX * 3600.0 > self.ghost_kmh * (r.ts_ms - fts)):
            # (Else nothing would change: a parked truck's fixes are metres apart, no haversine.)
            self._ghost(state, r, pledge, flat, flon, fts)
        # Most fixes are metres from the trusted one: no speed limit to look up.
        from_trusted = apart_deg >= NEAR_DEG and impossible_jump(
            flat, flon, fts, lat, lon, r.ts_ms, hdop=r.hdop,
            max_speed_kmh=max_speed_for(pledge.asset_kind))
        if pledge.approved_moves and in_windows(pledge.approved_moves, r.ts_ms):
            # An approved move (a port call, a workshop trip) may end anywhere: trust it.
            from_trusted = False
            state.teleport, state.back_fixes = False, 0
        if state.teleport:
            # Back where the trusted fix could have driven to by now: the spoof is over.
            state.back_fixes = 0 if from_trusted else state.back_fixes + 1
            if state.back_fixes >= self.clear_readings:
                state.teleport, state.back_fixes = False, 0
                state.fix_lat, state.fix_lon, state.fix_ts_ms = lat, lon, r.ts_ms
            return
        if not from_trusted:
            state.fix_lat, state.fix_lon, state.fix_ts_ms = lat, lon, r.ts_ms
            state.sus_lat = state.sus_lon = state.sus_ts_ms = None
            state.sus_fixes = 0
            return
        # Impossible from the trusted fix: confirmed when the next ones move on plausibly from it.
        slat, slon, sts = state.sus_lat, state.sus_lon, state.sus_ts_ms
        speed = max_speed_for(pledge.asset_kind)
        agrees = slat is not None and slon is not None and sts is not None and not (
            impossible_jump(slat, slon, sts, lat, lon, r.ts_ms, hdop=r.hdop, max_speed_kmh=speed))
        state.sus_fixes = state.sus_fixes + 1 if agrees else 1
        state.sus_lat, state.sus_lon, state.sus_ts_ms = lat, lon, r.ts_ms
        if state.sus_fixes >= self.confirm_fixes:
            state.teleport, state.back_fixes = True, 0

    def _frozen(self, state: SpoofingState, r: Reading, lat: float, lon: float) -> None:
        working = r.ignition is True and (
            (r.engine_rpm is not None and r.engine_rpm > 50.0)
            or (r.vibration_mm_s is not None and r.vibration_mm_s > 1.0))
        flat, flon = state.frozen_lat, state.frozen_lon
        same = (flat is not None and flon is not None and abs(flat - lat) * 111_000 <= self.frozen_m
                and abs(flon - lon) * 111_000 <= 2 * self.frozen_m
                and haversine_m(flat, flon, lat, lon) <= self.frozen_m)
        if not same:
            state.frozen_lat, state.frozen_lon = lat, lon
            state.frozen_count = 1 if working else 0
            state.frozen = False
            return
        if working:
            state.frozen_count += 1
            if state.frozen_count >= self.frozen_readings:
                state.frozen = True

    def _ghost(self, state: SpoofingState, r: Reading, pledge: Pledge, lat0: float, lon0: float,
               ts0: int) -> None:
        lat, lon = r.lat, r.lon
        assert lat is not None and lon is not None
        engine_off = r.ignition is False and not (r.engine_rpm is not None and r.engine_rpm > 0.0)
        moving = False
        if engine_off and r.ts_ms > ts0:
            # Road speed, but possible: an impossible jump is the teleport's (or a clone's).
            kmh = haversine_m(lat0, lon0, lat, lon) * 3600.0 / (r.ts_ms - ts0)
            moving = self.ghost_kmh < kmh <= max_speed_for(pledge.asset_kind)
        if moving and pledge.approved_moves and in_windows(pledge.approved_moves, r.ts_ms):
            moving = False  # carried to the workshop, say: approved
        if state.ghost:
            # Cleared by readings that agree: still, or driven with the engine on.
            state.ghost_run = 0 if moving else state.ghost_run + 1
            if state.ghost_run >= self.clear_readings:
                state.ghost, state.ghost_run = False, 0
            return
        state.ghost_run = state.ghost_run + 1 if moving else 0
        if state.ghost_run >= self.ghost_readings:
            state.ghost, state.ghost_run = True, 0
