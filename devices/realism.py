"""Field realism (``--realism field``): what real trackers and networks do to clean readings.

- GNSS: heavy-tailed error (Student's t, 3 degrees of freedom, scaled by
  HDOP), multipath jumps of 100-600 m (0.3% of fixes), a parked fix that
  wanders (a mean-reverting walk, ~15 m), no-fix spells of 1-5 readings.
- Clock: the device clock runs 5-40 ppm fast or slow and is corrected
  from GNSS time once a local day.
- Coverage: land trackers cross cellular dead zones (5-60 min), more often
  on the move; ships more than 25 km out report by satellite, in a burst
  every 45-120 min. Held readings are uploaded as store-and-forward
  batches when coverage returns; the live reading goes first (so batches
  arrive out of order) and a quarter of the time the last message before
  the gap is sent again (its acknowledgement was lost with the link).

Randomness comes from a per-device stream consumed reading by reading, so
a seed still gives the same bytes. The default (``clean``) keeps the
simulator's ideal tracker: the demo's detectors are tuned on that.
"""

from __future__ import annotations

import math
from typing import Any

from devices.kinds.base import DAY_MS, LOCAL_OFFSET_MS, Activity, key_of, rng_for

__all__ = ["REALISM", "FieldTracker"]

REALISM = ("clean", "field")
_SALT = 0xF1E1D
_M_PER_DEG = 111_195.0
_OFFSHORE_M = 25_000.0
#: Chance per reading of entering a dead zone (moving, parked) and its length in minutes.
_DEAD_ZONES = {"truck": (0.004, 0.001, (5, 40)), "construction": (0.002, 0.001, (10, 60)),
               "ship": (0.0, 0.0005, (10, 30)), "plant": (0.0, 0.0005, (10, 40)),
               "grid": (0.0, 0.0005, (10, 40)), "tank": (0.0, 0.0008, (10, 60))}


class FieldTracker:
    """One device's field effects; call ``apply`` once per reading, in order."""

    def __init__(self, device_id: str, kind: str, seed: int) -> None:
        self._rng = rng_for(seed, key_of(device_id), _SALT)
        self._kind = kind
        self._ppm = float(self._rng.uniform(5, 40)) * (1 if self._rng.random() < 0.5 else -1)
        self._pass_ms = int(self._rng.uniform(45, 120) * 60_000)
        self._walk = (0.0, 0.0)
        self._no_fix = 0
        self._zone_until = -1
        self._offshore_pass = -1

    def clock(self, t_ms: int) -> int:
        """The device's timestamp for true time ``t_ms`` (drifting since the last daily sync)."""
        since_sync = (t_ms + LOCAL_OFFSET_MS) % DAY_MS
        return t_ms + round(self._ppm * 1e-6 * since_sync)

    def apply(self, t_ms: int, act: Activity, fields: dict[str, Any]) -> bool:
        """Degrade the GNSS fields in place; True if the reading must be held (no coverage)."""
        u = self._rng.random(4)
        z = self._rng.standard_t(3, 2)
        n = self._rng.standard_normal(2)
        self._gnss(fields, act, u, z, n)
        return self._held(t_ms, act, u)

    def resend_last(self) -> bool:
        return bool(self._rng.random() < 0.25)

    def _gnss(self, fields: dict[str, Any], act: Activity, u: Any, z: Any, n: Any) -> None:
        if self._no_fix == 0 and u[0] < 0.003:
            self._no_fix = 1 + int(u[1] * 5)
        if self._no_fix > 0:
            self._no_fix -= 1
            for name in ("lat", "lon", "alt_m", "heading_deg", "speed_kmh"):
                fields.pop(name, None)
            fields.update(gnss_fix=0, sats=int(u[2] * 4), hdop=99.9)
            return
        if "lat" not in fields:
            return
        sigma = 3.0 * float(fields.get("hdop", 1.0))
        dx, dy = sigma * float(z[0]), sigma * float(z[1])
        if act.speed_kmh < 1.0:  # parked: the fix wanders and comes back
            wx, wy = self._walk
            self._walk = (0.9 * wx + 6.0 * float(n[0]), 0.9 * wy + 6.0 * float(n[1]))
            dx, dy = dx + self._walk[0], dy + self._walk[1]
        else:
            self._walk = (0.0, 0.0)
        if u[1] < 0.003:  # multipath: a reflected signal
            jump, bearing = 100 + 500 * float(u[2]), 2 * math.pi * float(u[3])
            dx, dy = dx + jump * math.sin(bearing), dy + jump * math.cos(bearing)
        lat = float(fields["lat"])
        fields["lat"] = round(lat + dy / _M_PER_DEG, 6)
        fields["lon"] = round(float(fields["lon"]) + dx / (_M_PER_DEG * math.cos(math.radians(
            lat))), 6)

    def _held(self, t_ms: int, act: Activity, u: Any) -> bool:
        if self._kind == "ship" and math.hypot(act.x_m, act.y_m) > _OFFSHORE_M:
            window = t_ms // self._pass_ms
            if window != self._offshore_pass:  # a satellite pass: upload now
                self._offshore_pass = window
                return False
            return True
        if t_ms < self._zone_until:
            return True
        moving, parked, (low, high) = _DEAD_ZONES.get(self._kind, (0.0, 0.0, (10, 30)))
        if u[3] < (moving if act.speed_kmh > 1.0 else parked):
            self._zone_until = t_ms + int((low + (high - low) * float(u[2])) * 60_000)
            return True
        return False
