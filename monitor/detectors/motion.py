"""Shared judgement of motion between two fixes, for the spoofing and cloning detectors.

A jump is impossible when the distance between two fixes exceeds what the
asset could travel in the time between them at ``max_speed_kmh`` (lower for
ships), plus both fixes' accuracy (``hdop * hdop_accuracy_m``) and a floor.

>>> impossible_jump(48.0, 11.0, 0, 49.0, 11.0, 60_000, hdop=1.0, max_speed_kmh=200.0)
True
>>> impossible_jump(48.0, 11.0, 0, 48.01, 11.0, 60_000, hdop=1.0, max_speed_kmh=200.0)
False
"""

from __future__ import annotations

from monitor.detectors.fences import M_PER_DEG, haversine_m

__all__ = ["impossible_jump", "max_speed_for", "NEAR_DEG"]

_FLOOR_M = 300.0
_HDOP_ACCURACY_M = 10.0
_SPEEDS_KMH = {"ship": 90.0}
_DEFAULT_KMH = 250.0
# A degree of latitude is 111.195 km; a degree of longitude no more. Margins keep the bounds safe.
_M_PER_DEG_LOW, _M_PER_DEG_HIGH = M_PER_DEG * 0.999, M_PER_DEG * 1.001
#: Fixes closer than this (``|dlat| + |dlon|``, degrees) are never an impossible jump: the
#: allowance is never below the floor (hdop is never negative on the wire). Callers test it
#: inline, before the call: most consecutive fixes are metres apart, and three judges ask.
NEAR_DEG = _FLOOR_M / _M_PER_DEG_HIGH


def max_speed_for(asset_kind: str) -> float:
    """The fastest an asset of this kind plausibly moves (a truck on a motorway, a fast ship)."""
    return _SPEEDS_KMH.get(asset_kind, _DEFAULT_KMH)


def impossible_jump(lat1: float, lon1: float, ts1: int, lat2: float, lon2: float, ts2: int,
                    *, hdop: float | None, max_speed_kmh: float) -> bool:
    dt_s = max(abs(ts2 - ts1) / 1000.0, 1.0)
    allowed = max_speed_kmh / 3.6 * dt_s + _FLOOR_M + 2 * (hdop or 1.0) * _HDOP_ACCURACY_M
    # Cheap bounds first (a degree is at most ~111.2 km either way): consecutive fixes are
    # mostly metres apart and need no haversine.
    dlat, dlon = abs(lat2 - lat1), abs(lon2 - lon1)
    if dlat * _M_PER_DEG_LOW > allowed:
        return True
    if (dlat + dlon) * _M_PER_DEG_HIGH < allowed:
        return False
    return haversine_m(lat1, lon1, lat2, lon2) > allowed
