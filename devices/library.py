"""Script the incident library onto a fleet: which asset plays which scenario, when, how.

Each scenario goes to assets of a kind it fits (``SUITABLE_KINDS``), at
most one scenario per asset so every alert can be attributed, at a local
time that makes sense (tows at night, jamming while a truck drives, fuel
theft while the site sleeps). Benign look-alikes also get the planned
window that explains them: ``planned_downtime`` or ``approved_moves`` on
the asset, ``{start, end, reason}`` in ISO-8601 UTC.

>>> from devices.fleet import generate_fleet
>>> fleet = generate_fleet(120, seed=2, incidents=False)
>>> rows, windows = script_library(fleet["assets"], 2, 1_764_518_400_000, 3 * 86_400)
>>> sorted({r["kind"] for r in rows}) == sorted(SCENARIOS)
True
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from devices.kinds.base import DAY_MS, HOUR_MS, LOCAL_OFFSET_MS, site_reach_m
from devices.kinds.ship import KNOT_KMH
from devices.scenarios import SCENARIOS, SUITABLE_KINDS, iso_ms
from devices.schema import KINDS

__all__ = ["script_library", "labelled_fleet", "ASSETS_PER_INSTANCE"]

#: One more instance of every scenario per this many assets.
ASSETS_PER_INSTANCE = 60
_WARMUP_S = 2 * 3600  # detectors learn the normal picture first
_ROOM_S = 3 * 3600  # every incident leaves at least this much of the run to be seen in

Row = dict[str, Any]
Windows = dict[str, dict[str, list[dict[str, str]]]]


class _Plan:
    """Random choices for one scenario instance on one asset, inside a run."""

    def __init__(self, rng: random.Random, asset: dict[str, Any], start_ms: int,
                 duration_s: float) -> None:
        self.rng, self.asset, self.start_ms, self.duration_s = rng, asset, start_ms, duration_s
        self.reach = site_reach_m(asset["site"])

    def at_local(self, h0: float, h1: float, lo_s: float = _WARMUP_S,
                 room_s: float = 0.0) -> int:
        """Seconds after the run starts, at a local hour in [h0, h1), leaving ``room_s``
        (never less than ``_ROOM_S``: an incident starting as the run ends is a label
        no detector could see)."""
        hi_s = max(lo_s, self.duration_s - max(room_s, _ROOM_S))
        first_day = (self.start_ms + LOCAL_OFFSET_MS) // DAY_MS
        days = [d for d in range(first_day, first_day + int(self.duration_s // 86_400) + 2)]
        self.rng.shuffle(days)
        for day in days:
            t_s = (day * DAY_MS - LOCAL_OFFSET_MS - self.start_ms) / 1000 + self.rng.uniform(
                h0, h1) * 3600
            if lo_s <= t_s <= hi_s:
                return int(t_s)
        return int(self.rng.uniform(lo_s, hi_s))

    def normal_day_s(self) -> float:
        """Where a trend may start: after a normal day to compare with, when the run allows."""
        return min(86_400.0, 0.25 * self.duration_s)

    def anytime(self, room_s: float = 0.0) -> int:
        return self.at_local(0, 24, room_s=room_s)

    def bearing(self) -> int:
        return self.rng.randrange(360)


Scheduler = Callable[[_Plan], tuple[int, float | None, dict[str, Any]]]


def _tow_night(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.at_local(1.0, 3.5), None, {"distance_m": p.rng.randrange(4000, 12001, 500),
                                       "speed_kmh": p.rng.randrange(15, 31, 5),
                                       "bearing_deg": p.bearing()}


def _carried(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.at_local(18.0, 22.0), None, {"distance_m": p.rng.randrange(20_000, 80_001, 5000),
                                         "speed_kmh": p.rng.randrange(45, 71, 5),
                                         "bearing_deg": p.bearing()}


def _drift(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(room_s=86_400), None, {"rate_m_h": p.rng.randrange(40, 121, 10),
                                            "bearing_deg": p.bearing(), "max_m": 20_000}


def _sail(p: _Plan, distance_m: float) -> dict[str, Any]:
    return {"distance_m": int(distance_m), "speed_kmh": round(p.rng.uniform(10, 14) * KNOT_KMH, 1),
            "bearing_deg": p.bearing()}


def _ship_leaves(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    # Twice the reach on any bearing leaves the area from anywhere inside it.
    params = _sail(p, 2.0 * p.reach + 10_000)
    transit_s = params["distance_m"] / (params["speed_kmh"] / 3.6)
    return p.anytime(room_s=transit_s + 3 * 3600), None, params


def _ship_dark(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(room_s=6 * 3600), None, _sail(p, 0.1 * p.reach)


def _port_call(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    params = _sail(p, 0.1 * p.reach)
    transit_s = params["distance_m"] / (params["speed_kmh"] / 3.6)
    stay_s = p.rng.uniform(12, 36) * 3600
    return p.anytime(room_s=stay_s), 2 * transit_s + stay_s, params | {"stay_s": int(stay_s)}


def _silenced(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(room_s=3 * 3600), None, {}


def _decline(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    ramp = min(p.rng.uniform(3, 5) * 86_400, 0.4 * p.duration_s)
    return p.at_local(0, 24, lo_s=p.normal_day_s(), room_s=ramp * 1.3), None, {"ramp_s": int(ramp),
                                                                   "floor": 0.05}


def _shutdown(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(room_s=float(p.asset.get("idle_after_s", 14 * 3600)) + 6 * 3600), None, {}


def _no_params(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(room_s=3 * 3600), None, {}


def _jamming(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.at_local(9.0, 15.0), p.rng.uniform(20, 90) * 60, {}


def _teleport(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.at_local(8.0, 18.0), p.rng.uniform(15, 90) * 60, {
        "jump_km": p.rng.randrange(300, 2001, 50), "bearing_deg": p.bearing()}


def _frozen(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.at_local(7.5, 10.0), p.rng.uniform(4, 10) * 3600, {}


def _replay(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    lag = 86_400 if p.duration_s >= 2.5 * 86_400 else max(3600, int(p.duration_s / 3))
    return p.at_local(7.0, 12.0, lo_s=lag + 3600), p.rng.uniform(3, 8) * 3600, {"lag_s": lag}


def _clone(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(room_s=6 * 3600), p.rng.uniform(6, 24) * 3600, {
        "offset_km": p.rng.randrange(50, 301, 10), "bearing_deg": p.bearing(),
        "seq0": p.rng.randrange(1, 2000)}


def _overheat(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    ramp = min(p.rng.uniform(6, 24) * 3600, 0.4 * p.duration_s)
    start_s = p.at_local(8.0, 12.0, lo_s=p.normal_day_s(), room_s=1.3 * ramp)
    return start_s, None, {"ramp_s": int(ramp), "rise_c": p.rng.randrange(25, 41)}


def _vibration(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    ramp = min(p.rng.uniform(1, 3) * 86_400, 0.4 * p.duration_s)
    return p.at_local(0, 24, lo_s=p.normal_day_s(), room_s=1.3 * ramp), None, {"ramp_s": int(ramp),
                                                "factor": round(p.rng.uniform(3, 6), 1)}


def _fuel_theft(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.at_local(1.0, 4.0), 6 * 3600, {"drop_pct": p.rng.randrange(15, 41),
                                           "drain_s": p.rng.randrange(600, 1801, 60)}


def _maintenance(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    params = {"distance_m": p.rng.randrange(3000, 10_001, 500),
              "speed_kmh": p.rng.randrange(30, 51, 5), "bearing_deg": p.bearing()}
    stay = p.rng.uniform(6, 30) * 3600
    transit_s = params["distance_m"] / (params["speed_kmh"] / 3.6)
    return p.at_local(8.0, 10.0, room_s=stay), 2 * transit_s + stay, params


def _holiday(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    days = min(p.rng.randint(2, 4), max(1, int(p.duration_s // 86_400) - 1))
    return p.at_local(0.0, 0.1, room_s=days * 86_400), days * 86_400, {"days": days}


def _dead_zone(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(room_s=4 * 3600), p.rng.uniform(20, 180) * 60, {}


def _parked_drift(p: _Plan) -> tuple[int, float | None, dict[str, Any]]:
    return p.anytime(), p.rng.uniform(1, 2) * 86_400, {
        "amplitude_m": int(min(0.4 * p.reach, 200))}


_SCHEDULERS: dict[str, Scheduler] = {
    "relocation_tow_night": _tow_night, "relocation_carried": _carried,
    "relocation_slow_drift": _drift, "ship_leaves_area": _ship_leaves,
    "ship_dark_at_sea": _ship_dark, "tracker_silenced": _silenced,
    "utilisation_decline": _decline, "abrupt_shutdown": _shutdown, "power_cut": _no_params,
    "tamper_case_open": _no_params, "jamming": _jamming, "spoof_teleport": _teleport,
    "spoof_frozen": _frozen, "spoof_replay": _replay, "cloned_device": _clone,
    "equipment_overheat": _overheat, "equipment_vibration": _vibration,
    "fuel_theft": _fuel_theft, "maintenance_trip": _maintenance, "holiday_shutdown": _holiday,
    "dead_zone": _dead_zone, "parked_drift": _parked_drift, "port_call": _port_call,
}
_PLANNED = {"maintenance_trip": ("approved_moves", "maintenance"),
            "port_call": ("approved_moves", "scheduled port call"),
            "holiday_shutdown": ("planned_downtime", "holiday")}


def script_library(assets: Sequence[dict[str, Any]], seed: int, start_ms: int,
                   duration_s: float, per_scenario: int | None = None,
                   scenarios: Sequence[str] = tuple(SCENARIOS)) -> tuple[list[Row], Windows]:
    """``simulation.incidents`` rows and per-asset planned windows for a run.

    ``per_scenario`` instances of each scenario (default one per
    ``ASSETS_PER_INSTANCE`` assets); a scenario no free asset fits is skipped.
    """
    if duration_s < 6 * 3600:
        raise ValueError("the incident library needs a run of at least 6 hours of device time")
    rng = random.Random(seed * 7919 + 13)
    per = per_scenario or max(1, len(assets) // ASSETS_PER_INSTANCE)
    free = {a["id"]: a for a in assets}
    rows: list[Row] = []
    windows: Windows = {}
    for _ in range(per):
        for scenario in scenarios:
            asset = _pick(free, SUITABLE_KINDS[scenario], rng)
            if asset is None:
                continue
            del free[asset["id"]]
            start_s, length_s, params = _SCHEDULERS[scenario](_Plan(rng, asset, start_ms,
                                                                    duration_s))
            row: Row = {"kind": scenario, "asset_id": asset["id"], "start_s": start_s}
            if length_s is not None:
                row["duration_s"] = int(math.ceil(length_s))
            rows.append(row | ({"params": params} if params else {}))
            if scenario in _PLANNED:
                key, reason = _PLANNED[scenario]
                t0 = start_ms + start_s * 1000
                t1 = t0 + row.get("duration_s", 0) * 1000
                windows.setdefault(asset["id"], {}).setdefault(key, []).append(
                    {"start": iso_ms(t0 - HOUR_MS), "end": iso_ms(t1 + HOUR_MS),
                     "reason": reason})
    return sorted(rows, key=lambda r: (r["start_s"], r["asset_id"])), windows


def _pick(free: dict[str, dict[str, Any]], kinds: Sequence[str],
          rng: random.Random) -> dict[str, Any] | None:
    for kind in kinds:
        fitting = [a for a in free.values() if a["kind"] == kind]
        if fitting:
            return rng.choice(fitting)
    return None


def labelled_fleet(n_assets: int, seed: int, start_ms: int, duration_s: float,
                   per_scenario: int | None = None, **fleet_options: Any) -> dict[str, Any]:
    """A generated fleet that plays the whole incident library from ``start_ms``.

    The run's start is kept in ``simulation.start_ms`` (``collateral simulate``
    starts there unless told otherwise); planned windows sit on the assets.
    """
    from devices.fleet import generate_fleet

    fleet_options.setdefault("kinds", None)
    fleet_options["kinds"] = fleet_options["kinds"] or KINDS  # all six kinds unless told
    fleet = generate_fleet(n_assets, seed, incidents=False, **fleet_options)
    rows, windows = script_library(fleet["assets"], seed, start_ms, duration_s, per_scenario)
    for asset in fleet["assets"]:
        asset.update(windows.get(asset["id"], {}))
    fleet["simulation"] = {"start_ms": start_ms, "duration_s": int(duration_s),
                           "incidents": rows}
    return fleet
