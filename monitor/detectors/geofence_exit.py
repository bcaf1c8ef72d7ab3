"""Geofence exit: the asset left its pledged site and stayed out.

Two ways out, either raises the alarm:

- every fix clear: ``min_fixes`` fixes in a row beyond the fence by more
  than a margin (``margin_m``, or the fix's own accuracy ``hdop *
  hdop_accuracy_m`` if larger), spanning ``pledge.geofence_dwell_s``;
- the evidence of the fixes together: a slow drift's fixes straddle that
  margin for an hour or more. Each fix's excess beyond the fence, less
  ``evidence_margin_m``, in units of the fixes' noise (the larger of the
  claimed accuracy and the scatter learnt from the first ``keep_steps``
  fix-to-fix steps, then kept: most fixes then cost nothing extra), is summed
  with a slack (a CUSUM); the alarm needs a sum of ``evidence_alarm`` from
  ``min_fixes`` fixes spanning the dwell. Fixes vaguer than the margin never
  weigh in (their error is a bias that averaging does not remove), and nor
  does anything before ``learn_steps`` steps have shown the scatter;
- the track: a line fitted through the sharp fixes of the last
  ``track_window_s`` (kept while the asset is within ``track_near_m`` of the
  fence; one velocity, a new level after each jump of ``track_jump`` noise
  widths, as when a machine is driven to another spot) is ``track_z_speed``
  standard errors from standing still and travels ``track_min_travel_m`` in
  its window, puts the asset beyond the fence now by ``track_z_position``
  standard errors of its end, was beyond it a dwell time ago, and the last
  ``track_recent_s`` keep going that way at ``track_keep_on`` of the speed.
  A parked asset's line stands still, however its fixes scatter across the
  fence; a multipath wander travels less and turns back; a drifting asset's
  line is beyond the fence minutes after the asset is. The window is six
  hours because GNSS errors are correlated for tens of minutes and a
  multipath wander swings over hours: a line through three hours follows a
  wander's swing out, one through six averages it away. A machine driven
  between work spots also starts a new level when the tracker says it was
  driven, however short the drive: a fix reporting ``track_moving_kmh`` or
  more (kept out of the track), or a course changed by more than
  ``track_turn_deg`` (trackers hold the last course while parked; one whose
  course changes on more than ``track_turns_max`` of its fixes is not
  believed). A drift creeps at metres an hour and shows neither.

"Spanning the dwell" allows a tenth of the reading interval (or of the dwell,
if shorter) for the readings' jitter: fixes a 5-minute cadence apart span
a 10-minute dwell at 9 min 58 s as often as at 10 min 2 s.

The finding's ``details["rule"]`` says which of the three raised it
(``fixes``, ``evidence`` or ``track``). A fix counts as back inside only
when it is within the fence itself; the
alarm clears after ``min_fixes`` inside fixes spanning ``clear_ratio`` of
the dwell. Fixes inside one of the pledge's approved moves (a maintenance
trip, a scheduled port call) never start an exit.

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
from math import cos, pi, radians, sqrt
from typing import cast

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, ReadingsOnly, StateRecord
from monitor.detectors.fences import (
    DEEP,
    INSIDE,
    M_PER_DEG,
    OUTSIDE,
    Fence,
    build_fence,
    haversine_m,
    to_latlon,
    to_xy,
)
from monitor.detectors.track import HOUR_MS, add_point, fit_track, prune, since
from monitor.model import AlertKind, Finding, Pledge, Site, in_windows

__all__ = ["GeofenceExitDetector", "GeofenceState"]

_RAD = radians(1.0)
_STEP_M_PER_DEG = M_PER_DEG / sqrt(pi)  # a degree of latitude, over E|step| / sigma


@dataclass(slots=True)
class GeofenceState(StateRecord):
    last_ts_ms: int | None = None  # newest fix judged
    outside_since_ms: int | None = None
    outside_fixes: int = 0
    inside_since_ms: int | None = None
    inside_fixes: int = 0
    alarm: bool = False
    reported_m: float = 0.0  # distance in the last active finding
    # Evidence over the dwell (a CUSUM of the fixes' excess beyond the fence in units of
    # their scatter), so a slow drift whose fixes straddle the margin is judged as a whole.
    evidence: float = 0.0
    evidence_since_ms: int | None = None
    evidence_fixes: int = 0
    scatter_m: float | None = None  # the fixes' own noise, learnt from fix-to-fix steps
    scatter_steps: int = 0  # learnt from the first keep_steps steps, then kept
    prev_lat: float | None = None
    prev_lon: float | None = None
    # Sharp fixes near the fence, [t_ms, x_m, y_m, segment, ...] (metres from the site's
    # anchor; a new segment after each jump); None far inside.
    track: list[float] | None = None
    track_rest: int = 0  # fixes to go before the line is fitted again (it stood still)
    track_moved: bool = False  # a fix showed it driven: the next point starts a new segment
    track_heading: float | None = None  # the last fix's course (held while parked)
    track_turns: float = 0.0  # how often the course changes from fix to fix (a running mean)


class GeofenceExitDetector(ReadingsOnly[GeofenceState]):
    kind = AlertKind.GEOFENCE_EXIT
    state_type = GeofenceState

    def __init__(self, *, min_fix: int = 2, max_hdop: float = 5.0, margin_m: float = 50.0,
                 hdop_accuracy_m: float = 10.0, min_fixes: int = 2, clear_ratio: float = 0.5,
                 update_distance_m: float = 250.0, default_radius_m: float = 500.0,
                 evidence_slack: float = 0.75, evidence_alarm: float = 2.0,
                 evidence_clip: float = 3.0, learn_steps: int = 12,
                 evidence_margin_m: float = 20.0, keep_steps: int = 96,
                 track_window_s: float = 6 * 3600.0, track_points: int = 72,
                 track_near_m: float = 150.0, track_min_travel_m: float = 90.0,
                 track_z_speed: float = 5.0, track_z_position: float = 2.0,
                 track_jump: float = 6.0, track_recent_s: float = 3600.0,
                 track_keep_on: float = 0.5, track_z_rest: float = 2.0,
                 track_rest_fixes: int = 5, track_moving_kmh: float = 2.0,
                 track_turn_deg: float = 10.0, track_turns_max: float = 0.2) -> None:
        self.min_fix, self.max_hdop, self.margin_m = min_fix, max_hdop, margin_m
        self.hdop_accuracy_m, self.min_fixes = hdop_accuracy_m, min_fixes
        self.clear_ratio = clear_ratio
        self.update_distance_m, self.default_radius_m = update_distance_m, default_radius_m
        self.evidence_slack, self.evidence_alarm = evidence_slack, evidence_alarm
        self.evidence_clip, self.learn_steps = evidence_clip, learn_steps
        self.evidence_margin_m, self.keep_steps = evidence_margin_m, keep_steps
        self.track_window_ms = int(track_window_s * 1000)
        # A fifth under the even spacing: fixes a jittery cadence apart are all kept.
        self.track_spacing_ms = int(0.8 * self.track_window_ms / track_points)
        self.track_near_m, self.track_min_travel_m = track_near_m, track_min_travel_m
        self.track_z_speed, self.track_z_position = track_z_speed, track_z_position
        self.track_jump, self.track_keep_on = track_jump, track_keep_on
        self.track_recent_ms = int(track_recent_s * 1000)
        self.track_z_rest, self.track_rest_fixes = track_z_rest, track_rest_fixes
        self.track_moving_kmh, self.track_turn_deg = track_moving_kmh, track_turn_deg
        self.track_turns_max = track_turns_max
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
        # The fix's own accuracy (m): its noise, and its margin if larger than margin_m.
        accuracy = self.hdop_accuracy_m if hdop is None else hdop * self.hdop_accuracy_m
        margin = self.margin_m
        if hdop is not None and accuracy > margin:  # (max() costs a call)
            margin = accuracy
        cached = self._fences.get(pledge.asset_id)  # _fence's hit, inline: every fix asks
        fence = (cached[1] if cached is not None and cached[0] is site
                 else self._fence(pledge.asset_id, site))
        where = fence.classify(lat, lon, margin, self.track_near_m)
        if state.alarm:
            where = INSIDE if where == DEEP else where
            return state, self._watch_return(state, where, reading, pledge, site)
        if state.scatter_steps < self.keep_steps:
            self._learn(state, lat, lon, accuracy)
        if where == DEEP:
            if state.evidence == 0.0 and state.outside_since_ms is None and (
                    state.track is None):
                return state, NO_FINDINGS  # home, far from the fence, nothing building: most
            where = INSIDE
        sigma = accuracy
        seen = state.scatter_m
        if seen is not None and seen > sigma:
            sigma = seen
        # Vague fixes stay out of the track, as out of the evidence.
        tracked = margin == self.margin_m and self._follow(state, fence, site, reading, sigma,
                                                           pledge)
        if where == INSIDE and state.evidence == 0.0 and state.outside_since_ms is None and (
                not tracked):
            return state, NO_FINDINGS  # home and nothing building up
        if state.scatter_steps >= self.learn_steps and margin == self.margin_m and (
                where != INSIDE or state.evidence > 0.0):
            # Only fixes sharper than the margin weigh in: a vague fix's error is a bias, and
            # averaging biased fixes does not shrink it.
            bias = self.evidence_margin_m
            excess = fence.excess_m(lat, lon, bias + self.evidence_clip * sigma) - bias
            self._weigh(state, excess / sigma, ts)
        return state, self._watch_exit(state, where, reading, pledge, site, tracked)

    def _learn(self, state: GeofenceState, lat: float, lon: float, claimed: float) -> None:
        """The fixes' noise (m), from the first ``keep_steps`` fix-to-fix steps, then kept.

        E|step| of a still asset's fixes is sqrt(pi) sigma; a move counts 4 sigma
        (flat-earth steps). Learning later only from fixes near the fence would
        bias it low: two fixes on the same side are closer.
        """
        plat, plon = state.prev_lat, state.prev_lon
        state.prev_lat, state.prev_lon = lat, lon
        if plat is None or plon is None:
            return
        dx = (lon - plon) * cos(lat * _RAD)
        step = sqrt(dx * dx + (lat - plat) ** 2) * _STEP_M_PER_DEG
        seen = state.scatter_m
        cap = 4.0 * (seen if seen is not None and seen > claimed else claimed)
        n = state.scatter_steps = state.scatter_steps + 1
        step = step if step < cap else cap
        state.scatter_m = step if seen is None else seen + (step - seen) / n

    def _weigh(self, state: GeofenceState, z: float, ts: int) -> None:
        clip = self.evidence_clip
        z = clip if z > clip else (-clip if z < -clip else z)
        total = state.evidence + z - self.evidence_slack
        if total <= 0.0:
            _forget_evidence(state)
            return
        if state.evidence_since_ms is None:
            state.evidence_since_ms = ts
        state.evidence, state.evidence_fixes = total, state.evidence_fixes + 1

    def _follow(self, state: GeofenceState, fence: Fence, site: Site, reading: Reading,
                sigma: float, pledge: Pledge) -> bool:
        """Keep the track of a sharp fix near the fence; True if the track says it left."""
        lat, lon, ts = cast(float, reading.lat), cast(float, reading.lon), reading.ts_ms
        near = self.track_near_m
        excess = fence.excess_m(lat, lon, near)
        points = state.track
        if excess <= -near:  # far inside: nothing new to follow, old points age out
            if points is not None:
                prune(points, ts - self.track_window_ms)
                if not points:
                    state.track = None
            return False
        if points is None:
            points, state.track_rest = [], 0
            state.track = points
        speed = reading.speed_kmh
        moving = speed is not None and speed >= self.track_moving_kmh
        if self._turned(state, reading.heading_deg) or moving:
            # Driven (a drift creeps at metres an hour and shows neither): a new spot.
            state.track_moved, state.track_rest = True, 0
        if moving:
            return False  # on its way: where it stops starts the next segment
        x, y = to_xy(site.lat, site.lon, lat, lon)
        if add_point(points, ts, x, y, window_ms=self.track_window_ms,
                     spacing_ms=self.track_spacing_ms,
                     jump_m=-1.0 if state.track_moved else self.track_jump * sigma):
            state.track_moved = False
        if excess < -3.0 * sigma:
            return False  # the line's end cannot be beyond the fence by 3 errors yet
        if state.track_rest > 0:
            state.track_rest -= 1
            return False
        if len(points) < 32:  # fewer than 8 points: the fit below needs 6 beyond its levels
            return False
        fit = fit_track(points, ts, sigma)
        if fit is None or fit.points - fit.segments < 6 or fit.last < 2:
            return False
        speed = fit.speed_m_h
        if speed < self.track_z_speed * fit.se_speed_m_h:
            if speed < self.track_z_rest * fit.se_speed_m_h:
                # Clearly still (an asset parked on its fence line): a line through hours
                # of fixes cannot reach track_z_speed within a few more of them.
                state.track_rest = self.track_rest_fixes
            return False  # standing still, as far as the fixes can tell
        if speed * (ts - points[0]) / HOUR_MS < self.track_min_travel_m:
            return False  # a parked fix wanders (multipath) this far, back and forth
        out_now = fence.excess_m(*to_latlon(site.lat, site.lon, fit.x_m, fit.y_m), 0.0)
        if out_now < self.track_z_position * fit.se_now_m:
            return False
        dwell_h = pledge.geofence_dwell_s / 3600.0
        then = to_latlon(site.lat, site.lon, *fit.at(-dwell_h))
        if fence.excess_m(*then, 0.0) <= 0.0:
            return False
        # Still going: a wandering fix curves back where a drift keeps on.
        recent = points[since(points, ts - self.track_recent_ms):]
        late = fit_track(recent, ts, sigma)
        if late is None:
            return False
        along = (late.vx_m_h * fit.vx_m_h + late.vy_m_h * fit.vy_m_h) / speed
        return along >= self.track_keep_on * speed

    def _turned(self, state: GeofenceState, heading: float | None) -> bool:
        """Did the course change by more than ``track_turn_deg`` since the last fix?

        Trackers hold the last course while parked, so a parked machine's course
        changes only when it is driven. A tracker whose course changes on more than
        ``track_turns_max`` of its fixes (one that reports a parked receiver's random
        course) is not believed.
        """
        if heading is None:
            return False
        last, state.track_heading = state.track_heading, heading
        if last is None:
            return False
        turned = abs((heading - last + 180.0) % 360.0 - 180.0) > self.track_turn_deg
        turns = state.track_turns
        turns += ((1.0 if turned else 0.0) - turns) / 32.0
        state.track_turns = turns
        return turned and turns < self.track_turns_max

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
                    site: Site, tracked: bool) -> Sequence[Finding]:
        ts = reading.ts_ms
        if in_windows(pledge.approved_moves, ts):
            state.outside_since_ms, state.outside_fixes = None, 0  # an approved move
            _forget_evidence(state)
            state.track = None
            return NO_FINDINGS
        if where != OUTSIDE:
            state.outside_since_ms, state.outside_fixes = None, 0  # home, or in the band
        else:
            if state.outside_since_ms is None:
                state.outside_since_ms = ts
            state.outside_fixes += 1
        dwell_ms = _dwell_ms(pledge)
        clear = state.outside_since_ms is not None and state.outside_fixes >= self.min_fixes and (
            ts - state.outside_since_ms >= dwell_ms)
        since = state.evidence_since_ms
        weighed = since is not None and state.evidence >= self.evidence_alarm and (
            state.evidence_fixes >= self.min_fixes and ts - since >= dwell_ms)
        if not (clear or weighed or tracked):
            return NO_FINDINGS
        if not clear:
            state.outside_since_ms = since if weighed else ts - int(
                pledge.geofence_dwell_s * 1000)
        state.alarm, state.inside_since_ms, state.inside_fixes = True, None, 0
        _forget_evidence(state)
        state.track = None
        rule = "fixes" if clear else ("evidence" if weighed else "track")
        return (self._active(state, reading, pledge, site, rule),)

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
                site: Site, rule: str | None = None) -> Finding:
        assert reading.lat is not None and reading.lon is not None
        distance = round(haversine_m(site.lat, site.lon, reading.lat, reading.lon), 1)
        state.reported_m = distance
        details: dict[str, object] = {"distance_m": distance,
                                      "outside_since_ms": state.outside_since_ms,
                                      "lat": reading.lat, "lon": reading.lon}
        if rule is not None:  # which rule raised it (a later "moved further" has none)
            details["rule"] = rule
        return Finding(pledge.asset_id, self.kind, True, reading.ts_ms, "outside pledged site",
                       details)


def _dwell_ms(pledge: Pledge) -> float:
    """The dwell, less a tenth of the reading interval (or of the dwell, if shorter): the
    readings that span it come a cadence apart give or take seconds, and a fix two seconds
    short of a 10-minute dwell must not wait a whole reading more."""
    cadence, dwell = pledge.cadence_s, pledge.geofence_dwell_s
    return 1000.0 * (dwell - 0.1 * (cadence if cadence < dwell else dwell))


def _forget_evidence(state: GeofenceState) -> None:
    """Drop the evidence summed so far (it went to zero, a move was approved, or it raised)."""
    state.evidence, state.evidence_since_ms, state.evidence_fixes = 0.0, None, 0
