"""Physics of each asset kind over a week: duty cycles, rests and levels within real bounds."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from typing import Any

import pytest

from devices.fleet import generate_fleet
from devices.geo import haversine_m
from devices.kinds.base import HOUR_MS, LOCAL_OFFSET_MS
from devices.simulator import Simulator

MONDAY_MS = 1_764_518_400_000  # 2025-12-01 00:00 in China (UTC+8)
DAYS = 6
SEED = 13

Readings = dict[str, list[dict[str, Any]]]


def _hour(r: dict[str, Any]) -> float:
    return float((r["ts_ms"] + LOCAL_OFFSET_MS) % (24 * HOUR_MS)) / HOUR_MS


def _weekend(r: dict[str, Any]) -> bool:
    return (r["ts_ms"] - MONDAY_MS) // (24 * HOUR_MS) % 7 >= 5


@pytest.fixture(scope="module")
def week() -> tuple[dict[str, Any], Readings]:
    fleet = generate_fleet(60, SEED, incidents=False, kinds=("ship", "grid", "tank"))
    out: Readings = defaultdict(list)
    for _, payload in Simulator(fleet, SEED, MONDAY_MS).advance(MONDAY_MS + DAYS * 24 * HOUR_MS):
        body = json.loads(payload)
        out[body["device_id"]].extend(body["readings"])
    return fleet, out


def _of(kind: str, week: tuple[dict[str, Any], Readings]) -> list[tuple[dict[str, Any],
                                                                       list[dict[str, Any]]]]:
    fleet, readings = week
    found = [(a, readings[a["device_id"]]) for a in fleet["assets"] if a["kind"] == kind]
    assert found
    return found


def _runs(rs: list[dict[str, Any]], inside: Any) -> list[tuple[int, int]]:
    """(first, last) device times of maximal runs of readings where ``inside`` holds,
    leaving out runs cut by the start or end of the simulation."""
    out, start = [], None
    for i, r in enumerate(rs):
        if inside(r) and start is None:
            start = i
        elif not inside(r) and start is not None:
            if start > 0:
                out.append((rs[start]["ts_ms"], rs[i - 1]["ts_ms"]))
            start = None
    return out


def test_ships_stay_in_port_8_to_30_hours_and_sail_at_realistic_speeds(week: Any) -> None:
    stays = []
    for asset, rs in _of("ship", week):
        def alongside(r: dict[str, Any], a: dict[str, Any] = asset) -> bool:
            return not r["ignition"] and haversine_m(a["site"]["lat"], a["site"]["lon"],
                                                     r["lat"], r["lon"]) < 1000
        stays += [(b - a) / HOUR_MS for a, b in _runs(rs, alongside)]
        knots = [r["speed_kmh"] / 1.852 for r in rs if r["ignition"]]
        assert knots and 4 <= min(knots) and max(knots) <= 20
    assert len(stays) >= 10 and all(7.5 <= h <= 30.5 for h in stays), stays
    assert statistics.median(stays) > 12


def test_generators_follow_demand_and_rest_at_night(week: Any) -> None:
    for _, rs in _of("grid", week):
        on = [r for r in rs if r["ignition"]]
        assert all(1480 < r["engine_rpm"] < 1520 for r in on)
        assert not any(r["ignition"] for r in rs if 0.5 <= _hour(r) < 5.5)
        assert all(r["ignition"] for r in rs if 7 <= _hour(r) < 23)
        weekday = [r for r in on if not _weekend(r)]
        peak = statistics.mean(r["power_kw"] for r in weekday if 9 <= _hour(r) < 10.5)
        midday = statistics.mean(r["power_kw"] for r in weekday if 13 <= _hour(r) < 15)
        assert peak > 1.15 * midday
        weekend = statistics.mean(r["power_kw"] for r in on if _weekend(r) and
                                  9 <= _hour(r) < 10.5)
        assert weekend < 0.85 * peak
        assert all(25 <= r["fuel_pct"] <= 90 for r in rs)


def test_tanks_sell_by_day_and_are_refilled_by_tanker(week: Any) -> None:
    for _, rs in _of("tank", week):
        assert not any(r["ignition"] for r in rs if 0 <= _hour(r) < 5.9)
        assert all(r["ignition"] for r in rs if 7 <= _hour(r) < 22)
        steps = list(zip(rs, rs[1:], strict=False))
        night = [b["fuel_pct"] - a["fuel_pct"] for a, b in steps if _hour(b) < 5.9 and
                 _hour(a) < _hour(b)]
        assert night and all(d == 0 for d in night)
        rises = [(a, b) for a, b in steps if b["fuel_pct"] > a["fuel_pct"]]
        assert all(7 <= _hour(a) < 19 for a, _ in rises)
        assert rises, "a week of sales needs a delivery"
        assert sum(b["fuel_pct"] - a["fuel_pct"] for a, b in rises) > 40
        day_sold = [a["fuel_pct"] - b["fuel_pct"] for a, b in steps if b["fuel_pct"]
                    < a["fuel_pct"]]
        assert 15 <= sum(day_sold) / DAYS <= 45
        assert all(2 <= r["fuel_pct"] <= 98 for r in rs)
