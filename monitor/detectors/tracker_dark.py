"""Tracker dark: no reading for longer than ``dark_after_cadences * cadence_s``
(and never less than ``dark_min_s``, so tunnels, garages and short outages stay quiet).

Silence is judged on ``on_tick(now_ms)``, where ``now_ms`` is the newest
device time seen across the fleet (the watermark), never the arrival time
or the wall clock. The silence is ``now_ms`` minus the newest device time
this asset has reported.

- An asset that has never reported is never dark: there is no baseline, and
  a worker must not flag assets it does not own. "Pledged but never
  reported" belongs to the registry, which knows when the tracker was fitted.
- A reading clears it only if it closes the gap: a late store-and-forward
  batch whose newest reading is within the limit of the watermark clears
  it; a batch whose readings are all old only moves the last-seen time.
- While dark, the finding is re-told once per limit period with the grown
  silence.

>>> det = TrackerDarkDetector()
>>> pledge = Pledge("a1", "l1", "b1", "ship", None, cadence_s=300, dark_after_cadences=3,
...                 dark_min_s=0)
>>> t0 = 1_764_331_200_000
>>> state, _ = det.on_reading(det.initial_state(), Reading("d1", 1, t0), pledge)
>>> state, found = det.on_tick(state, pledge, t0 + 901_000)
>>> found[0].active, found[0].details["silent_s"]
(True, 901.0)
>>> state, found = det.on_reading(state, Reading("d1", 2, t0 + 902_000), pledge)
>>> found[0].active
False
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.wire import Reading
from monitor.detectors.base import NO_FINDINGS, StateRecord
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["TrackerDarkDetector", "TrackerDarkState"]


@dataclass(slots=True)
class TrackerDarkState(StateRecord):
    last_ts_ms: int | None = None  # newest device time this asset reported
    now_ms: int | None = None  # newest watermark seen on a tick
    alarm: bool = False
    reported_ms: int | None = None  # watermark at the last active finding


class TrackerDarkDetector:
    kind = AlertKind.TRACKER_DARK

    def initial_state(self) -> TrackerDarkState:
        return TrackerDarkState()

    def on_reading(
        self, state: TrackerDarkState, reading: Reading, pledge: Pledge
    ) -> tuple[TrackerDarkState, Sequence[Finding]]:
        ts = reading.ts_ms
        if state.last_ts_ms is not None and ts <= state.last_ts_ms:
            return state, NO_FINDINGS
        state.last_ts_ms = ts
        if not state.alarm or state.now_ms is None or state.now_ms - ts > _limit_ms(pledge):
            return state, NO_FINDINGS
        state.alarm, state.reported_ms = False, None
        return state, (Finding(pledge.asset_id, self.kind, False, ts, "tracker reporting again",
                               {"last_seen_ms": ts}),)

    def on_tick(
        self, state: TrackerDarkState, pledge: Pledge, now_ms: int
    ) -> tuple[TrackerDarkState, Sequence[Finding]]:
        last = state.last_ts_ms
        if last is None:
            return state, NO_FINDINGS
        if state.now_ms is None or now_ms > state.now_ms:
            state.now_ms = now_ms
        now = state.now_ms
        limit_ms = _limit_ms(pledge)
        if now - last <= limit_ms:
            if not state.alarm:
                return state, NO_FINDINGS
            # Only reached if the pledge's cadence grew while the asset was dark.
            state.alarm, state.reported_ms = False, None
            return state, (Finding(pledge.asset_id, self.kind, False, now,
                                   "silence within the expected cadence", {"last_seen_ms": last}),)
        if state.alarm and state.reported_ms is not None and now - state.reported_ms < limit_ms:
            return state, NO_FINDINGS
        state.alarm, state.reported_ms = True, now
        details = {"last_seen_ms": last, "silent_s": (now - last) / 1000.0,
                   "limit_s": limit_ms / 1000.0}
        return state, (Finding(pledge.asset_id, self.kind, True, now,
                               "no reading for longer than expected", details),)

    def dump_state(self, state: TrackerDarkState) -> dict[str, Any]:
        return state.to_dict()

    def load_state(self, data: Mapping[str, Any]) -> TrackerDarkState:
        return TrackerDarkState.from_dict(data)


def _limit_ms(pledge: Pledge) -> float:
    return max(pledge.dark_after_cadences * pledge.cadence_s, pledge.dark_min_s) * 1000.0
