"""The simulator: deterministic, on the wire contract, physically sane, incidents visible."""

from __future__ import annotations

import json
import random
import statistics
from collections import defaultdict
from typing import Any

import pytest

from devices.fleet import generate_fleet
from devices.geo import haversine_m
from devices.kinds import KNOT_KMH
from devices.kinds.base import HOUR_MS, LOCAL_OFFSET_MS, site_reach_m
from devices.simulator import Simulator
from ingest.wire import decode_message

# Monday 2025-12-01 00:00 in China (UTC+8).
MONDAY_MS = 1_764_518_400_000
SEED = 5

Readings = dict[str, list[dict[str, Any]]]


def _by_device(messages: list[tuple[str, bytes]]) -> Readings:
    out: Readings = defaultdict(list)
    for topic, payload in messages:
        body = json.loads(payload)
        assert topic == f"telemetry/{body['device_id']}"
        out[body["device_id"]].extend(body["readings"])
    return out


def _hour(reading: dict[str, Any]) -> float:
    return float((reading["ts_ms"] + LOCAL_OFFSET_MS) % (24 * HOUR_MS)) / HOUR_MS


def _distance(asset: dict[str, Any], reading: dict[str, Any]) -> float:
    return haversine_m(asset["site"]["lat"], asset["site"]["lon"], reading["lat"], reading["lon"])


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    return generate_fleet(60, seed=SEED)


@pytest.fixture(scope="module")
def two_days(fleet: dict[str, Any]) -> list[tuple[str, bytes]]:
    return Simulator(fleet, SEED, MONDAY_MS).advance(MONDAY_MS + 48 * HOUR_MS)


@pytest.fixture(scope="module")
def readings(two_days: list[tuple[str, bytes]]) -> Readings:
    return _by_device(two_days)


@pytest.fixture(scope="module")
def assets(fleet: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["device_id"]: a for a in fleet["assets"]}


@pytest.fixture(scope="module")
def normal(fleet: dict[str, Any], assets: dict[str, dict[str, Any]]) -> set[str]:
    """Devices whose assets have no scripted incident."""
    hit = {i["asset_id"] for i in fleet["simulation"]["incidents"]}
    return {d for d, a in assets.items() if a["id"] not in hit}


def _of_kind(kind: str, readings: Readings, assets: dict[str, dict[str, Any]],
             normal: set[str]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    out = [(assets[d], rs) for d, rs in readings.items()
           if d in normal and assets[d]["kind"] == kind]
    assert out, f"no {kind} in the test fleet"
    return out


# -- determinism and the wire --------------------------------------------------------------


def test_same_seed_same_bytes_however_time_is_chunked(fleet: dict[str, Any],
                                                      two_days: list[tuple[str, bytes]]) -> None:
    sim = Simulator(fleet, SEED, MONDAY_MS)
    rng, now, chunked = random.Random(1), MONDAY_MS, []
    while now < MONDAY_MS + 48 * HOUR_MS:
        now = min(now + rng.randint(1, 3 * HOUR_MS), MONDAY_MS + 48 * HOUR_MS)
        chunked += sim.advance(now, max_messages=rng.choice([None, 1, 50]))
    chunked += sim.advance(MONDAY_MS + 48 * HOUR_MS)
    assert chunked == two_days


def test_different_seed_different_messages(fleet: dict[str, Any],
                                           two_days: list[tuple[str, bytes]]) -> None:
    other = Simulator(fleet, SEED + 1, MONDAY_MS).advance(MONDAY_MS + 2 * HOUR_MS)
    assert set(other).isdisjoint(two_days)


def test_every_message_decodes_per_the_wire_contract(two_days: list[tuple[str, bytes]]) -> None:
    now_ms = MONDAY_MS + 48 * HOUR_MS
    for topic, payload in two_days:
        decoded = decode_message(topic, payload, now_ms)
        assert decoded.rejections == []
        assert len(decoded.readings) == 1


def test_messages_are_in_time_order_with_seq_from_one(two_days: list[tuple[str, bytes]],
                                                      readings: Readings,
                                                      assets: dict[str, dict[str, Any]]) -> None:
    times = [json.loads(p)["readings"][0]["ts_ms"] for _, p in two_days]
    assert times == sorted(times)
    assert MONDAY_MS <= times[0] and times[-1] <= MONDAY_MS + 48 * HOUR_MS
    for device, rs in readings.items():
        assert [r["seq"] for r in rs] == list(range(1, len(rs) + 1))
        gaps = [b["ts_ms"] - a["ts_ms"] for a, b in zip(rs, rs[1:], strict=False)]
        cadence_ms = assets[device]["cadence_s"] * 1000
        assert abs(statistics.median(gaps) - cadence_ms) <= 0.05 * cadence_ms
        assert min(gaps) > 0.8 * cadence_ms


def test_trackers_report_plausible_gnss_and_power(readings: Readings, normal: set[str]) -> None:
    for device in normal:
        for r in readings[device]:
            assert r["gnss_fix"] == 3 and 6 <= r["sats"] <= 14 and 0.8 <= r["hdop"] <= 2.5
            assert r["ext_power"] is True and r["tamper"] is False
            assert 4.0 <= r["battery_v"] <= 4.3 and -20 < r["temp_c"] < 90


def test_advance_is_idempotent_at_the_same_time(fleet: dict[str, Any]) -> None:
    sim = Simulator(fleet, SEED, MONDAY_MS)
    assert sim.advance(MONDAY_MS + HOUR_MS)
    assert sim.advance(MONDAY_MS + HOUR_MS) == []
    assert sim.advance(MONDAY_MS) == []
    assert sim.now_ms == MONDAY_MS + HOUR_MS


# -- physics -------------------------------------------------------------------------------


def test_trucks_drive_by_day_rest_at_night_and_stay_in_their_region(
        readings: Readings, assets: dict[str, dict[str, Any]], normal: set[str]) -> None:
    for asset, rs in _of_kind("truck", readings, assets, normal):
        assert all(0 <= r["speed_kmh"] <= 110 for r in rs)
        night = [r for r in rs if 0 <= _hour(r) < 4.5]
        assert night and all(not r["ignition"] and r["speed_kmh"] == 0 for r in night)
        day = [r["speed_kmh"] for r in rs if 9 <= _hour(r) < 16]
        assert max(day) > 50
        reach = site_reach_m(asset["site"])
        assert max(_distance(asset, r) for r in rs) < reach


def test_plant_power_follows_two_shifts(readings: Readings, assets: dict[str, dict[str, Any]],
                                        normal: set[str]) -> None:
    for _, rs in _of_kind("plant", readings, assets, normal):
        assert all(r["power_kw"] > 0 and r["speed_kmh"] == 0 for r in rs)
        night = statistics.mean(r["power_kw"] for r in rs if 0 <= _hour(r) < 5)
        day = statistics.mean(r["power_kw"] for r in rs if 8 <= _hour(r) < 11)
        evening = statistics.mean(r["power_kw"] for r in rs if 19 <= _hour(r) < 21)
        assert day > 8 * night and evening > 8 * night
        assert all(r["ignition"] for r in rs if 7 <= _hour(r) < 21)
        assert not any(r["ignition"] for r in rs if 0 <= _hour(r) < 5)


def test_construction_machines_work_shifts_inside_their_site(
        readings: Readings, assets: dict[str, dict[str, Any]], normal: set[str]) -> None:
    for asset, rs in _of_kind("construction", readings, assets, normal):
        assert max(_distance(asset, r) for r in rs) < min(170, site_reach_m(asset["site"]))
        assert all(r["speed_kmh"] < 8 for r in rs)
        working = [r for r in rs if 8 <= _hour(r) < 11]
        assert sum(r["ignition"] for r in working) > 0.9 * len(working)
        assert statistics.mean(r["vibration_mm_s"] for r in working) > 3
        assert not any(r["ignition"] for r in rs if 0 <= _hour(r) < 5)


def test_ships_sail_in_knots_and_stay_in_their_area(
        readings: Readings, assets: dict[str, dict[str, Any]], normal: set[str]) -> None:
    for asset, rs in _of_kind("ship", readings, assets, normal):
        under_way = [r["speed_kmh"] / KNOT_KMH for r in rs if r["ignition"]]
        assert under_way, "every ship makes a voyage within two days"
        assert all(4 <= kn <= 20 for kn in under_way)
        assert max(under_way) >= 9.5
        assert all(r["speed_kmh"] / KNOT_KMH < 2 for r in rs if not r["ignition"])
        assert max(_distance(asset, r) for r in rs) < site_reach_m(asset["site"])


def test_no_normal_rest_is_long_enough_to_look_idle() -> None:
    """A week of normal duty: every asset is active again before its idle threshold."""
    fleet = generate_fleet(40, seed=9, incidents=False)
    week = Simulator(fleet, 9, MONDAY_MS - 5 * HOUR_MS).advance(MONDAY_MS + 7 * 24 * HOUR_MS)
    rs = _by_device(week)
    for asset in fleet["assets"]:
        times = [r["ts_ms"] for r in rs[asset["device_id"]] if r["ignition"]]
        times = [MONDAY_MS - 5 * HOUR_MS, *times, MONDAY_MS + 7 * 24 * HOUR_MS]
        longest = max(b - a for a, b in zip(times, times[1:], strict=False))
        assert longest < 0.95 * asset["idle_after_s"] * 1000, asset["id"]


# -- incidents -----------------------------------------------------------------------------


def _incident(sim_fleet: dict[str, Any], kind: str) -> dict[str, Any]:
    row: dict[str, Any] = next(i for i in sim_fleet["simulation"]["incidents"]
                               if i["kind"] == kind)
    return row


def _device_of(fleet: dict[str, Any], asset_id: str) -> str:
    device: str = next(a["device_id"] for a in fleet["assets"] if a["id"] == asset_id)
    return device


def test_incidents_are_listed_with_device_and_start(fleet: dict[str, Any]) -> None:
    listed = Simulator(fleet, SEED, MONDAY_MS).incidents
    rows = fleet["simulation"]["incidents"]
    assert sorted((i.kind, i.asset_id, i.device_id, i.start_ms) for i in listed) == sorted(
        (r["kind"], r["asset_id"], _device_of(fleet, r["asset_id"]),
         MONDAY_MS + r["start_s"] * 1000) for r in rows)
    assert listed[0].as_dict()["kind"] in ("relocation", "idle", "dark", "tamper")


def test_relocated_asset_is_towed_away_and_stays_away(fleet: dict[str, Any],
                                                      readings: Readings) -> None:
    row = _incident(fleet, "relocation")
    asset = next(a for a in fleet["assets"] if a["id"] == row["asset_id"])
    start_ms = MONDAY_MS + row["start_s"] * 1000
    rs = readings[asset["device_id"]]
    before = [r for r in rs if r["ts_ms"] < start_ms]
    assert before and all(_distance(asset, r) < site_reach_m(asset["site"]) for r in before)
    tow_ms = row["params"]["distance_m"] / (row["params"]["tow_speed_kmh"] / 3.6) * 1000
    towing = [r for r in rs if start_ms <= r["ts_ms"] < start_ms + tow_ms]
    assert towing and all(not r["ignition"] and r["speed_kmh"] >= 15 for r in towing)
    after = [r for r in rs if r["ts_ms"] >= start_ms + tow_ms]
    assert all(_distance(asset, r) > 0.8 * row["params"]["distance_m"] for r in after)
    assert _distance(asset, rs[-1]) > 0.8 * row["params"]["distance_m"]


def test_idle_asset_shows_no_activity_after_start(fleet: dict[str, Any],
                                                  readings: Readings) -> None:
    row = _incident(fleet, "idle")
    start_ms = MONDAY_MS + row["start_s"] * 1000
    rs = readings[_device_of(fleet, row["asset_id"])]
    after = [r for r in rs if r["ts_ms"] >= start_ms]
    assert len(after) > 100
    for r in after:
        assert not r["ignition"] and r["speed_kmh"] == 0 and r["engine_rpm"] == 0
        assert r.get("power_kw", 0) == 0 and r.get("vibration_mm_s", 0) == 0


def test_dark_device_publishes_nothing_after_start(fleet: dict[str, Any],
                                                   readings: Readings) -> None:
    row = _incident(fleet, "dark")
    start_ms = MONDAY_MS + row["start_s"] * 1000
    asset = next(a for a in fleet["assets"] if a["id"] == row["asset_id"])
    rs = readings[asset["device_id"]]
    assert rs and all(r["ts_ms"] < start_ms for r in rs)
    assert rs[-1]["ts_ms"] > start_ms - 1.1 * asset["cadence_s"] * 1000


def test_tampered_tracker_reports_case_open_and_drains(fleet: dict[str, Any],
                                                      readings: Readings) -> None:
    row = _incident(fleet, "tamper")
    start_ms = MONDAY_MS + row["start_s"] * 1000
    rs = readings[_device_of(fleet, row["asset_id"])]
    before = [r for r in rs if r["ts_ms"] < start_ms]
    after = [r for r in rs if r["ts_ms"] >= start_ms]
    assert before and all(r["tamper"] is False and r["ext_power"] for r in before)
    assert after and all(r["tamper"] is True and r["ext_power"] is False for r in after)
    assert after[-1]["battery_v"] < after[0]["battery_v"] - 0.3
    assert min(r["battery_v"] for r in after) >= 3.45


def test_devices_listed_apart_from_assets_are_simulated() -> None:
    """A fleet exported by the registry lists devices separately."""
    fleet = generate_fleet(6, seed=1, incidents=False)
    fleet["devices"] = [{"id": a.pop("device_id"), "asset_id": a["id"]} for a in fleet["assets"]]
    fleet["devices"].append({"id": "spare-1", "asset_id": fleet["assets"][0]["id"]})
    sim = Simulator(fleet, 1, MONDAY_MS)
    seen = {json.loads(p)["device_id"] for _, p in sim.advance(MONDAY_MS + HOUR_MS)}
    assert seen == {d["id"] for d in fleet["devices"]} == set(sim.device_ids)


def test_truth_is_the_position_before_gnss_noise_and_changes_nothing_sent() -> None:
    fleet = generate_fleet(6, seed=SEED)
    device = fleet["assets"][0]["device_id"]
    plain = Simulator(fleet, SEED, MONDAY_MS).advance(MONDAY_MS + 6 * HOUR_MS)
    watched = Simulator(fleet, SEED, MONDAY_MS, truth_of={device})
    assert watched.advance(MONDAY_MS + 6 * HOUR_MS) == plain  # same seed, same messages
    truth = watched.truth(device)
    sent = [r for r in _by_device(plain)[device] if "lat" in r]
    assert [t for t, _, _ in truth] == [r["ts_ms"] for r in sent]
    misses = [haversine_m(lat, lon, r["lat"], r["lon"])
              for (_, lat, lon), r in zip(truth, sent, strict=True)]
    assert 0.5 < statistics.median(misses) < 40  # GNSS noise of metres, never zero
    assert watched.truth("nobody") == []
