"""Field realism: heavy-tailed GNSS, no-fix spells, clock drift, dead zones, resends, bursts."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from typing import Any

import pytest

from devices.fleet import generate_fleet
from devices.geo import haversine_m
from devices.kinds.base import HOUR_MS
from devices.simulator import Simulator
from ingest.wire import decode_message

MONDAY_MS = 1_764_518_400_000
END_MS = MONDAY_MS + 2 * 24 * HOUR_MS
SEED = 17


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    return generate_fleet(60, SEED, incidents=False,
                          kinds=("truck", "construction", "ship", "plant", "grid", "tank"))


@pytest.fixture(scope="module")
def field(fleet: dict[str, Any]) -> list[tuple[str, bytes, int]]:
    return Simulator(fleet, SEED, MONDAY_MS, realism="field").advance_timed(END_MS)


@pytest.fixture(scope="module")
def clean(fleet: dict[str, Any]) -> list[tuple[str, bytes, int]]:
    return Simulator(fleet, SEED, MONDAY_MS).advance_timed(END_MS)


def _readings(messages: list[tuple[str, bytes, int]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, payload, _ in messages:
        body = json.loads(payload)
        out[body["device_id"]].extend(body["readings"])
    return out


def test_field_messages_pass_the_wire_contract(field: list[tuple[str, bytes, int]]) -> None:
    for topic, payload, t_ms in field:
        assert decode_message(topic, payload, t_ms + 60_000).rejections == []


def test_same_seed_same_bytes_in_the_field(fleet: dict[str, Any],
                                           field: list[tuple[str, bytes, int]]) -> None:
    again = Simulator(fleet, SEED, MONDAY_MS, realism="field").advance_timed(END_MS)
    assert again == field


def test_gnss_error_is_heavy_tailed(fleet: dict[str, Any],
                                    field: list[tuple[str, bytes, int]]) -> None:
    fixed = {a["device_id"] for a in fleet["assets"] if a["kind"] in ("plant", "grid", "tank")}
    errors: list[float] = []
    for device, rs in _readings(field).items():
        if device not in fixed:
            continue
        fixes = [r for r in rs if "lat" in r]
        lat = statistics.median(r["lat"] for r in fixes)
        lon = statistics.median(r["lon"] for r in fixes)
        errors += [haversine_m(lat, lon, r["lat"], r["lon"]) for r in fixes]
    errors.sort()
    p50, p99 = errors[len(errors) // 2], errors[int(0.99 * len(errors))]
    assert 5 < p50 < 40 and p99 < 150
    assert errors[-1] > 100 and errors[-1] > 5 * p99 / 2  # multipath jumps far beyond the bulk


def test_no_fix_spells_report_no_position(field: list[tuple[str, bytes, int]]) -> None:
    no_fix = [r for rs in _readings(field).values() for r in rs if r["gnss_fix"] == 0]
    assert no_fix and all("lat" not in r and "lon" not in r for r in no_fix)


def test_clock_drifts_a_few_seconds_a_day_at_most(field: list[tuple[str, bytes, int]],
                                                  clean: list[tuple[str, bytes, int]]) -> None:
    ideal = {(d, r["seq"]): r["ts_ms"] for d, rs in _readings(clean).items() for r in rs}
    drift = [r["ts_ms"] - ideal[(d, r["seq"])] for d, rs in _readings(field).items()
             for r in rs if (d, r["seq"]) in ideal]
    assert max(abs(x) for x in drift) <= 40e-6 * 24 * HOUR_MS + 1
    assert sum(1 for x in drift if x != 0) > 0.9 * len(drift)


def test_dead_zones_give_batches_out_of_order_and_resends(
        field: list[tuple[str, bytes, int]]) -> None:
    sent: set[bytes] = set()
    resent = out_of_order = batches = 0
    newest: dict[str, int] = {}
    for _, payload, _ in field:
        resent += payload in sent
        sent.add(payload)
        body = json.loads(payload)
        rs = body["readings"]
        batches += len(rs) > 1
        out_of_order += rs[0]["ts_ms"] < newest.get(body["device_id"], 0)
        newest[body["device_id"]] = max(newest.get(body["device_id"], 0), rs[-1]["ts_ms"])
    assert batches > 10 and out_of_order > 10 and resent > 2


def test_ships_far_out_report_in_satellite_bursts(fleet: dict[str, Any],
                                                  field: list[tuple[str, bytes, int]]) -> None:
    ships = {a["device_id"]: a for a in fleet["assets"] if a["kind"] == "ship"}
    bursts = []
    for _, payload, _ in field:
        body = json.loads(payload)
        if body["device_id"] in ships and len(body["readings"]) > 3:
            site = ships[body["device_id"]]["site"]
            far = [r for r in body["readings"] if "lat" in r]
            bursts.append(max(haversine_m(site["lat"], site["lon"], r["lat"], r["lon"])
                              for r in far))
    assert bursts and statistics.median(bursts) > 20_000


def test_unknown_realism_is_refused(fleet: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="realism must be one of clean, field"):
        Simulator(fleet, SEED, MONDAY_MS, realism="noisy")
