"""Domain values the detectors and the alert lifecycle share.

No I/O here: plain frozen dataclasses that tests build directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["AlertKind", "Site", "Pledge", "Finding", "Window", "in_windows"]

#: A planned period in device time, ``(start_ms, end_ms)``, end exclusive.
Window = tuple[int, int]


def in_windows(windows: tuple[Window, ...], ts_ms: int) -> bool:
    """Whether ``ts_ms`` falls in one of ``windows`` (an empty tuple is the fast path)."""
    return bool(windows) and any(start <= ts_ms < end for start, end in windows)


class AlertKind(StrEnum):
    GEOFENCE_EXIT = "geofence_exit"
    IDLE = "idle"
    TRACKER_DARK = "tracker_dark"
    TAMPER = "tamper"
    POWER_CUT = "power_cut"
    JAMMING = "jamming"
    SPOOFING = "spoofing"
    CLONING = "cloning"
    EQUIPMENT_FAULT = "equipment_fault"
    FUEL_THEFT = "fuel_theft"


@dataclass(frozen=True, slots=True)
class Site:
    """Where an asset is pledged to stay: a circle (anchor + radius) or a polygon.

    ``polygon`` is a GeoJSON-style ring of (lon, lat) pairs; when it is set it
    wins over the circle. ``lat``/``lon`` is always the anchor point.
    """

    lat: float
    lon: float
    radius_m: float | None = None
    polygon: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class Pledge:
    """What the monitor knows about one pledged asset when it judges a reading.

    Durations are seconds of device time.
    """

    asset_id: str
    loan_id: str
    lender_id: str
    asset_kind: str
    site: Site | None
    cadence_s: float = 300.0
    idle_after_s: float = 12 * 3600.0
    dark_after_cadences: float = 3.0
    #: A floor for "dark": a tracker on a 2-minute cadence is not dark after 6 minutes
    #: in a tunnel; risk teams expect silence of half an hour before they are called.
    dark_min_s: float = 1800.0
    geofence_dwell_s: float = 600.0
    #: Planned downtime (holidays, repairs): idle is expected, not a risk.
    planned_downtime: tuple[Window, ...] = ()
    #: Approved moves (maintenance trips, scheduled port calls): leaving the site is allowed.
    approved_moves: tuple[Window, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's verdict at one instant: the condition holds (active) or has cleared."""

    asset_id: str
    kind: AlertKind
    active: bool
    at_ms: int
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)
