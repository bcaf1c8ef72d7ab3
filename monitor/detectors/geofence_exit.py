"""Geofence exit: the asset left its pledged site and stayed out.

A fix counts as outside only when it is beyond the fence by more than a
margin (``margin_m``, or the fix's own accuracy ``hdop * hdop_accuracy_m``
if larger); it counts as back inside only when it is within the fence
itself. Fixes between the two (on the boundary, give or take GPS noise)
break either run, so boundary jitter cannot flap. The alarm needs
``min_fixes`` outside fixes spanning ``pledge.geofence_dwell_s``; it clears
after ``min_fixes`` inside fixes spanning ``clear_ratio`` of the dwell.
Fixes inside one of the pledge's approved moves (a maintenance trip, a
scheduled port call) never start an exit.

>>> det = GeofenceExitDetector()
>>> pledge = Pledge("a1", "l1", "b1", "truck", Site(48.0, 11.0, radius_m=200))
>>> state, t0 = det.initial_state(), 1_764_331_200_000
>>> for i, lat in enumerate([48.0, 48.05, 48.05, 48.05]):  # towed 5.6 km north
...     fix = Reading("d1", i, t0 + i * 300_000, lat=lat, lon=11.0, gnss_fix=3, hdop=1.0)
...     state, found = det.on_reading(state, fix, pledge)
>>> found[0].active, found[0].details["distance_m"]
(True, 5559.8)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.detectors.fences import INSIDE, OUTSIDE, Fence, build_fence, haversine_m
from monitor.model import AlertKind, Finding, Pledge, Site, in_windows

__all__ = ["GeofenceExitDetector", "GeofenceState"]


@dataclass(slots=True)
class GeofenceState(StateRecord):
    last_ts_ms: int | None = None  # newest fix judged
    outside_since_ms: int | None = None
    outside_fixes: int = 0
    inside_since_ms: int | None = None
    inside_fixes: int = 0
    alarm: bool = False
    reported_m: float = 0.0  # distance in the last active finding


class GeofenceExitDetector(ReadingsOnly[GeofenceState]):
    kind = AlertKind.GEOFENCE_EXIT
    state_type = GeofenceState

    def __init__(self, *, min_fix: int = 2, max_hdop: float = 5.0, margin_m: float = 50.0,
                 hdop_accuracy_m: float = 10.0, min_fixes: int = 2, clear_ratio: float = 0.5,
                 update_distance_m: float = 250.0, default_radius_m: float = 500.0) -> None:
        self.min_fix, self.max_hdop, self.margin_m = min_fix, max_hdop, margin_m
        self.hdop_accuracy_m, self.min_fixes = hdop_accuracy_m, min_fixes
        self.clear_ratio = clear_ratio
        self.update_distance_m, self.default_radius_m = update_distance_m, default_radius_m
        # Built once per asset's site; a reloaded but equal Site keeps its fence.
        self._fences: dict[str, tuple[Site, Fence]] = {}

    def on_reading(
        self, state: GeofenceState, reading: Reading, pledge: Pledge
    ) -> tuple[GeofenceState, Sequence[Finding]]:
        site, lat, lon, hdop = pledge.site, reading.lat, reading.lon, reading.hdop
        if site is None or lat is None or lon is None:
            return state, NO_FINDINGS
        quality = reading.gnss_fix  # 0 is "no fix", so no `or` shortcut here
        if (quality is not None and quality < self.min_fix) or (
            hdop is not None and hdop > self.max_hdop
        ):
            return state, NO_FINDINGS  # too poor to judge; neither run is broken by it
        ts = reading.ts_ms
        if state.last_ts_ms is not None and ts < state.last_ts_ms:
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        margin = self.margin_m  # or the fix's own accuracy if larger (max() costs a call)
        if hdop is not None and hdop * self.hdop_accuracy_m > margin:
            margin = hdop * self.hdop_accuracy_m
        cached = self._fences.get(pledge.asset_id)  # _fence's hit, inline: every fix asks
        fence = (cached[1] if cached is not None and cached[0] is site
                 else self._fence(pledge.asset_id, site))
        where = fence.classify(lat, lon, margin)
        if state.alarm:
            return state, self._watch_return(state, where, reading, pledge, site)
        return state, self._watch_exit(state, where, reading, pledge, site)


    def _fence(self, asset_id: str, site: Site) -> Fence:
        cached = self._fences.get(asset_id)
        if cached is not None and cached[0] is site:
            return cached[1]
        # Pledges are reloaded as new objects: keep an equal site's fence, pin the new object.
        fence = cached[1] if cached is not None and cached[0] == site else build_fence(
            site, self.default_radius_m)
        self._fences[asset_id] = (site, fence)
        return fence

    def _watch_exit(self, state: GeofenceState, where: int, reading: Reading, pledge: Pledge,
                    site: Site) -> Sequence[Finding]:
        ts = reading.ts_ms
        if where != OUTSIDE or in_windows(pledge.approved_moves, ts):
            state.outside_since_ms, state.outside_fixes = None, 0  # home, or an approved move
            return NO_FINDINGS
        if state.outside_since_ms is None:
            state.outside_since_ms = ts
        state.outside_fixes += 1
        dwell_ms = pledge.geofence_dwell_s * 1000.0
        if state.outside_fixes < self.min_fixes or ts - state.outside_since_ms < dwell_ms:
            return NO_FINDINGS
        state.alarm, state.inside_since_ms, state.inside_fixes = True, None, 0
        return (self._active(state, reading, pledge, site),)

    def _watch_return(self, state: GeofenceState, where: int, reading: Reading, pledge: Pledge,
                      site: Site) -> Sequence[Finding]:
        if where != INSIDE:
            state.inside_since_ms, state.inside_fixes = None, 0
            if where == OUTSIDE and self._moved(state, reading, site):
                return (self._active(state, reading, pledge, site),)
            return NO_FINDINGS
        ts = reading.ts_ms
        if state.inside_since_ms is None:
            state.inside_since_ms = ts
        state.inside_fixes += 1
        hold_ms = pledge.geofence_dwell_s * 1000.0 * self.clear_ratio
        if state.inside_fixes < self.min_fixes or ts - state.inside_since_ms < hold_ms:
            return NO_FINDINGS
        state.alarm, state.outside_since_ms, state.outside_fixes = False, None, 0
        state.inside_since_ms, state.inside_fixes = None, 0
        return (Finding(pledge.asset_id, self.kind, False, ts, "back inside pledged site"),)

    def _moved(self, state: GeofenceState, reading: Reading, site: Site) -> bool:
        assert reading.lat is not None and reading.lon is not None
        distance = haversine_m(site.lat, site.lon, reading.lat, reading.lon)
        return abs(distance - state.reported_m) >= self.update_distance_m

    def _active(self, state: GeofenceState, reading: Reading, pledge: Pledge,
                site: Site) -> Finding:
        assert reading.lat is not None and reading.lon is not None
        distance = round(haversine_m(site.lat, site.lon, reading.lat, reading.lon), 1)
        state.reported_m = distance
        details = {"distance_m": distance, "outside_since_ms": state.outside_since_ms,
                   "lat": reading.lat, "lon": reading.lon}
        return Finding(pledge.asset_id, self.kind, True, reading.ts_ms, "outside pledged site",
                       details)
