"""Enrichment before detection: GPS noise filters, then annotation.

Per asset, in device-time order, ``FixFilter.admit`` decides what the
detectors may trust in a reading, in the spirit of Traccar's FilterHandler:

- dropped whole (``Verdict.reason`` says why): an exact duplicate (same
  seq and time as the newest), out of order (older than the newest: a late
  copy the detectors have already judged past), or from the future (more
  than ``max_future_s`` ahead of the fleet's newest device time);
- position removed, the rest kept (a tamper flag or a fuel level is still
  true when the fix is bad): no fix or ``gnss_fix`` below 2, the (0, 0)
  null island, ``hdop`` above ``max_hdop``, a jump implausible at
  ``motion.max_speed_for`` the asset's kind from the last accepted fix (three
  fixes in a row that agree with each other but not with it re-anchor: the
  asset really is elsewhere), or a fix within ``min_period_s`` of the last
  accepted one.

``annotate`` then says where an accepted fix lies: its distance from the
pledged anchor and whether it is inside the pledged site.

Detectors that judge the raw story (``spoofing``, ``cloning``: the very
fixes these filters drop are their evidence) declare ``raw = True`` and see
readings before this stage.

>>> filt, pledge = FixFilter(), Pledge("a1", "l1", "b1", "truck", None)
>>> state, t0 = filt.initial_state(), 1_764_331_200_000
>>> ok = Reading("d1", 1, t0, lat=48.0, lon=11.0, gnss_fix=3, hdop=1.0)
>>> filt.admit(state, ok, pledge, high_ms=t0)[1]
'ok'
>>> filt.admit(state, ok, pledge, high_ms=t0)[1]
'duplicate'
>>> far = Reading("d1", 2, t0 + 60_000, lat=49.0, lon=11.0, gnss_fix=3, hdop=1.0)
>>> clean, why = filt.admit(state, far, pledge, high_ms=t0)
>>> why, clean.lat
('implausible_speed', None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ingest.wire import Reading
from monitor.detectors.base import StateRecord
from monitor.detectors.fences import INSIDE, build_fence, haversine_m
from monitor.detectors.motion import NEAR_DEG, impossible_jump, max_speed_for
from monitor.model import Pledge

__all__ = ["FixFilter", "FilterState", "Verdict", "annotate"]


@dataclass(slots=True)
class FilterState(StateRecord):
    last_ts_ms: int | None = None
    last_seq: int | None = None
    fix_lat: float | None = None  # last accepted fix
    fix_lon: float | None = None
    fix_ts_ms: int | None = None
    odd_lat: float | None = None  # last fix rejected as implausible
    odd_lon: float | None = None
    odd_ts_ms: int | None = None
    odd_streak: int = 0


#: What the detectors get: the reading (its position removed if untrusted) or None, and
#: why: "ok", or the filter that dropped the reading or its position. A plain tuple: this
#: runs for every reading.
Verdict = tuple[Reading | None, str]


class FixFilter:
    def __init__(self, *, max_hdop: float = 5.0, min_period_s: float = 5.0,
                 max_future_s: float = 6 * 3600.0, reanchor_fixes: int = 12) -> None:
        self.max_hdop, self.min_period_ms = max_hdop, int(min_period_s * 1000)
        self.max_future_ms, self.reanchor_fixes = int(max_future_s * 1000), reanchor_fixes

    def initial_state(self) -> FilterState:
        return FilterState()

    def dump_state(self, state: FilterState) -> dict[str, Any]:
        return state.to_dict()

    def load_state(self, data: Mapping[str, Any]) -> FilterState:
        return FilterState.from_dict(data)

    def admit(self, state: FilterState, reading: Reading, pledge: Pledge,
              high_ms: int) -> Verdict:
        """Judge ``reading``; ``high_ms`` is the newest device time seen fleet-wide (0: none)."""
        ts, last = reading.ts_ms, state.last_ts_ms
        if last is not None and ts <= last:
            dup = ts == last and reading.seq == state.last_seq
            return None, "duplicate" if dup else "out_of_order"
        if high_ms and ts > high_ms + self.max_future_ms:
            return None, "future"
        state.last_ts_ms, state.last_seq = ts, reading.seq
        lat, lon = reading.lat, reading.lon
        if lat is None or lon is None:
            return reading, "ok"
        why = self._position_problem(state, reading, lat, lon, pledge)
        if why is None:
            state.fix_lat, state.fix_lon, state.fix_ts_ms = lat, lon, ts
            return reading, "ok"
        return replace(reading, lat=None, lon=None, alt_m=None, heading_deg=None), why

    def _position_problem(self, state: FilterState, r: Reading, lat: float, lon: float,
                          pledge: Pledge) -> str | None:
        fix, hdop = r.gnss_fix, r.hdop
        if fix is not None and fix < 2:
            return "no_fix"
        if lat == 0.0 and lon == 0.0:
            return "zero_position"
        if hdop is not None and hdop > self.max_hdop:
            return "poor_accuracy"
        flat, flon, fts = state.fix_lat, state.fix_lon, state.fix_ts_ms
        if flat is None or flon is None or fts is None:
            return None
        if r.ts_ms - fts < self.min_period_ms:
            return "min_period"
        if abs(lat - flat) + abs(lon - flon) < NEAR_DEG:
            state.odd_streak = 0
            return None
        speed = max_speed_for(pledge.asset_kind)
        if not impossible_jump(flat, flon, fts, lat, lon, r.ts_ms, hdop=hdop,
                               max_speed_kmh=speed):
            state.odd_streak = 0
            return None
        return self._odd(state, r, lat, lon, speed)

    def _odd(self, state: FilterState, r: Reading, lat: float, lon: float,
             speed: float) -> str | None:
        olat, olon, ots = state.odd_lat, state.odd_lon, state.odd_ts_ms
        agrees = olat is not None and olon is not None and ots is not None and not (
            impossible_jump(olat, olon, ots, lat, lon, r.ts_ms, hdop=r.hdop, max_speed_kmh=speed))
        state.odd_streak = state.odd_streak + 1 if agrees else 1
        state.odd_lat, state.odd_lon, state.odd_ts_ms = lat, lon, r.ts_ms
        if state.odd_streak >= self.reanchor_fixes:
            state.odd_streak = 0
            return None  # the asset really is elsewhere: this fix becomes the reference
        return "implausible_speed"


def annotate(reading: Reading, pledge: Pledge) -> dict[str, Any]:
    """Where an accepted fix lies against the pledge: distance from the anchor, in the site."""
    site, lat, lon = pledge.site, reading.lat, reading.lon
    if site is None or lat is None or lon is None:
        return {}
    distance = haversine_m(site.lat, site.lon, lat, lon)
    inside = build_fence(site, default_radius_m=500.0).classify(lat, lon, 0.0) == INSIDE
    return {"distance_from_anchor_m": round(distance, 1), "in_pledged_site": inside}
