"""The tracker on an asset: turns an ``Activity`` into the reading fields it reports.

GNSS with per-device quality (5-15 m noise, hdop 0.8-2.5, 6-14 satellites,
always a 3D fix), a backup battery that sits near full while external power
is on, and an enclosure temperature sensor that follows the air and the
engine. Values are rounded as a real device would send them.
"""

from __future__ import annotations

from typing import Any

from devices.geo import to_latlon
from devices.kinds.base import Activity, Draws, ambient_c, key_of, rng_for

__all__ = ["Tracker"]

_SALT = 0x7EAC


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


class Tracker:
    def __init__(self, device_id: str, kind: str, lat0: float, lon0: float, seed: int) -> None:
        rng = rng_for(seed, key_of(device_id), _SALT)
        self._lat0, self._lon0 = lat0, lon0
        self._sigma_m = float(rng.uniform(5, 15))
        self._hdop = float(rng.uniform(0.8, 1.6))
        self._sats = float(rng.uniform(8.5, 12.5))
        self._battery_v = float(rng.uniform(4.10, 4.18))
        self._alt_m = float(rng.uniform(15, 30) if kind == "ship" else rng.uniform(5, 45))
        self._warm_c = float(rng.uniform(1, 4))  # the enclosure runs warmer than the air

    def true_position(self, act: Activity) -> tuple[float, float]:
        """Where the asset really is (lat, lon), before GNSS noise: the ground truth."""
        return to_latlon(self._lat0, self._lon0, act.x_m, act.y_m)

    def fields(self, t_ms: int, act: Activity, draws: Draws) -> dict[str, Any]:
        """The reading's fields (without ``seq``/``ts_ms``), in wire order."""
        hdop = _clamp(self._hdop + draws.normal(0.2), 0.8, 2.5)
        sigma = self._sigma_m * hdop / self._hdop
        lat, lon = to_latlon(self._lat0, self._lon0, act.x_m + draws.normal(sigma),
                             act.y_m + draws.normal(sigma))
        out: dict[str, Any] = {
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "alt_m": round(self._alt_m + draws.normal(0.8 * sigma), 1),
            "speed_kmh": round(max(act.speed_kmh, 0.0), 1),
            "heading_deg": round(act.heading_deg % 360.0, 1) % 360.0,
            "gnss_fix": 3,
            "hdop": round(hdop, 1),
            "sats": int(_clamp(round(self._sats + draws.normal(1.2)), 6, 14)),
            "ignition": act.ignition,
        }
        if act.engine_rpm is not None:
            out["engine_rpm"] = round(max(act.engine_rpm, 0.0), 0)
        if act.power_kw is not None:
            out["power_kw"] = round(act.power_kw, 1)
        if act.vibration_mm_s is not None:
            out["vibration_mm_s"] = round(max(act.vibration_mm_s, 0.0), 2)
        air = ambient_c(self._lat0, t_ms)
        out["temp_c"] = round(air + self._warm_c + act.heat_c + draws.normal(0.3), 1)
        if act.fuel_pct is not None:
            out["fuel_pct"] = round(_clamp(act.fuel_pct, 0.0, 100.0), 1)
        charging = 0.03 if act.ignition else 0.0
        out["battery_v"] = round(self._battery_v + charging + draws.normal(0.005), 2)
        out["ext_power"] = True
        out["tamper"] = False
        return out
