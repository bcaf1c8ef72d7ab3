"""Small builders for monitor tests: readings, pledges, sites, positions, and a story."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.mqtt import MqttEndpoint
from ingest.wire import Reading
from monitor.detectors.base import Detector
from monitor.model import Finding, Pledge, Site
from monitor.service import MonitorConfig, MonitorService
from registry import Registry

__all__ = [
    "T0", "MIN", "HOUR", "ANCHOR", "CIRCLE_200M", "Event", "make_reading", "make_pledge",
    "circle_site", "square_site", "moved", "noisy", "fix", "story", "run_detector",
    "unstarted_monitor",
]

T0 = 1_764_331_200_000  # 2025-11-28T12:00:00Z
MIN = 60_000
HOUR = 60 * MIN
ANCHOR = (48.137, 11.575)
_M_PER_DEG = 111_195.0


def make_reading(ts_ms: int, *, device_id: str = "d1", seq: int | None = None,
                 **fields: Any) -> Reading:
    """A reading at ``ts_ms``; seq defaults to seconds since T0 so it rises with time."""
    return Reading(device_id, (ts_ms - T0) // 1000 if seq is None else seq, ts_ms, **fields)


def circle_site(radius_m: float = 200.0) -> Site:
    return Site(*ANCHOR, radius_m=radius_m)


def square_site(half_side_m: float = 300.0, east_m: float = 0.0) -> Site:
    """A square polygon around (a point ``east_m`` of) the anchor, as GeoJSON (lon, lat)."""
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    ring = tuple((moved(ANCHOR, half_side_m * dy, east_m + half_side_m * dx)[::-1])
                 for dx, dy in corners)
    return Site(*ANCHOR, polygon=ring)


CIRCLE_200M = circle_site()


def make_pledge(asset_id: str = "a1", *, site: Site | None = CIRCLE_200M,
                **fields: Any) -> Pledge:
    """A pledge with defaults: 5-min cadence, 10-min dwell, circle site of 200 m."""
    return Pledge(asset_id, "loan-1", "lender-1", "truck", site, **fields)


def moved(origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat, lon = origin
    return (lat + north_m / _M_PER_DEG,
            lon + east_m / (_M_PER_DEG * math.cos(math.radians(lat))))


def noisy(rng: random.Random, sigma_m: float, north_m: float = 0.0,
          east_m: float = 0.0) -> tuple[float, float]:
    return moved(ANCHOR, north_m + rng.gauss(0, sigma_m), east_m + rng.gauss(0, sigma_m))


def fix(ts_ms: int, position: tuple[float, float], **fields: Any) -> Reading:
    """A good GNSS fix at ``position`` (lat, lon)."""
    fields.setdefault("gnss_fix", 3)
    fields.setdefault("hdop", 1.0)
    return make_reading(ts_ms, lat=position[0], lon=position[1], **fields)


@dataclass(frozen=True, slots=True)
class Event:
    """One step of a run: a reading, or (``reading`` None) a tick at ``now_ms``."""

    now_ms: int
    reading: Reading | None = None


def story(seed: int = 3) -> list[Event]:
    """One asset's 17 hours that make every default detector raise and clear.

    Parked and working; engine off 1h-3h (idle) with 20 % of the fuel
    siphoned at 2h; case opened at 3.5h; tracker silent 4h-5h (dark); power
    cut and towed 5 km at 6h-7h; back home by 7.5h; GNSS jammed with the
    engine on 8h-8.75h; position frozen while working 10h-11h (spoofing); a
    clone reporting 500 km away between the real readings 12h-13h; the
    engine overheating 14h-15h.
    """
    rng = random.Random(seed)
    events: list[Event] = []
    clone_seq = 10
    for ts in range(T0, T0 + 17 * HOUR, 5 * MIN):
        h = (ts - T0) / HOUR
        if 4 <= h < 5:
            events.append(Event(ts))  # silent: only the clock moves
            continue
        events += [Event(ts, _story_reading(rng, ts, h)), Event(ts)]
        if 12 <= h < 13:
            clone_seq += 1
            events.append(Event(ts + 2 * MIN, fix(ts + 2 * MIN, moved(ANCHOR, 500_000, 0),
                                                  seq=clone_seq, ignition=False)))
    return events


def _story_reading(rng: random.Random, ts: int, h: float) -> Reading:
    towed = 6 <= h < 7
    position = noisy(rng, 10, north_m=5000 if towed else 0)
    if 10 <= h < 11:
        position = ANCHOR  # frozen to the metre while the machine works
    running = not (1 <= h < 3) and not towed
    temp = 20.0 + (10.0 if running else 0.0) + rng.gauss(0, 0.4) + (40.0 if 14 <= h < 15 else 0)
    fields: dict[str, Any] = dict(
        ignition=running, engine_rpm=1400.0 if running else 0.0,
        power_kw=30.0 if running else 0.0, speed_kmh=0.0, vibration_mm_s=3.0 if running else 0.1,
        temp_c=round(temp, 1), fuel_pct=60.0 if h < 2 else 40.0,
        tamper=3.5 <= h < 3.6, ext_power=not towed)
    if 8 <= h < 8.75:
        return make_reading(ts, gnss_fix=0, **fields)  # jammed: no position
    return fix(ts, position, **fields)


def run_detector(detector: Detector[Any], events: Sequence[Event], pledge: Pledge,
                 state: Any = None) -> tuple[Any, list[Finding]]:
    """Feed ``events`` through one detector; returns the final state and all findings."""
    state = detector.initial_state() if state is None else state
    found: list[Finding] = []
    for event in events:
        if event.reading is None:
            state, out = detector.on_tick(state, pledge, event.now_ms)
        else:
            state, out = detector.on_reading(state, event.reading, pledge)
        found.extend(out)
    return state, found


def unstarted_monitor(registry: Registry, config: MonitorConfig | None = None) -> MonitorService:
    """A monitor service over ``registry`` that is never started (no broker): tests drive
    its pledges, alerts and people's actions by hand."""
    return MonitorService(MqttEndpoint("127.0.0.1", 1), registry, config)
