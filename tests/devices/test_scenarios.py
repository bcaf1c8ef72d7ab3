"""The incident library: every scenario's label matches what the tracker published."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from devices.geo import haversine_m
from devices.kinds.base import HOUR_MS, site_reach_m
from devices.library import labelled_fleet, script_library
from devices.scenarios import BENIGN, INCIDENTS, SCENARIOS, Label
from devices.simulator import Simulator
from ingest.wire import decode_message

MONDAY_MS = 1_764_518_400_000  # 2025-12-01 00:00 in China (UTC+8)
DAYS = 3
END_MS = MONDAY_MS + DAYS * 24 * HOUR_MS
SEED = 11


@dataclass
class Sent:
    """One reading as published: the message's device send time and batch size."""

    reading: dict[str, Any]
    sent_ms: int
    batch: int


@dataclass
class Run:
    fleet: dict[str, Any]
    labels: list[Label]
    by_device: dict[str, list[Sent]]
    messages: list[tuple[str, bytes, int]]

    def asset(self, label: Label) -> dict[str, Any]:
        asset: dict[str, Any] = next(a for a in self.fleet["assets"] if a["id"] == label.asset_id)
        return asset

    def readings(self, label: Label) -> list[dict[str, Any]]:
        return sorted((s.reading for s in self.by_device[label.device_id]),
                      key=lambda r: r["ts_ms"])


@pytest.fixture(scope="module")
def run() -> Run:
    fleet = labelled_fleet(150, SEED, MONDAY_MS, DAYS * 86_400)
    sim = Simulator(fleet, SEED, MONDAY_MS)
    messages = list(sim.messages(END_MS))
    by_device: dict[str, list[Sent]] = defaultdict(list)
    for _, payload, t_ms in messages:
        body = json.loads(payload)
        for r in body["readings"]:
            by_device[body["device_id"]].append(Sent(r, t_ms, len(body["readings"])))
    return Run(fleet, sim.labels(END_MS), by_device, messages)


def _dist(asset: dict[str, Any], r: dict[str, Any]) -> float:
    return haversine_m(asset["site"]["lat"], asset["site"]["lon"], r["lat"], r["lon"])


def _split(rs: list[dict[str, Any]], label: Label) -> tuple[list[dict[str, Any]], ...]:
    before = [r for r in rs if r["ts_ms"] < label.start_ms]
    during = [r for r in rs if label.start_ms <= r["ts_ms"] < label.end_ms]
    after = [r for r in rs if r["ts_ms"] >= label.end_ms]
    return before, during, after


def _transit_ms(label: Label) -> float:
    return label.params["distance_m"] / (label.params["speed_kmh"] / 3.6) * 1000


def _relocated(run: Run, label: Label) -> None:
    asset, rs = run.asset(label), run.readings(label)
    before, during, _ = _split(rs, label)
    reach = site_reach_m(asset["site"])
    assert before and all(_dist(asset, r) < reach for r in before)
    if label.scenario == "relocation_slow_drift":
        late = [r for r in during if r["ts_ms"] > label.start_ms + 1.2 * reach
                / label.params["rate_m_h"] * HOUR_MS]
        assert late and all(_dist(asset, r) > reach for r in late)
        return
    arrived = [r for r in during if r["ts_ms"] > label.start_ms + _transit_ms(label) + 1]
    assert arrived and all(_dist(asset, r) > reach for r in arrived)
    moving = [r for r in during if r["ts_ms"] < label.start_ms + _transit_ms(label) - 1]
    engine_on = label.scenario.startswith("ship")
    assert all(r["ignition"] is engine_on and r["speed_kmh"] > 5 for r in moving)
    if label.scenario == "relocation_tow_night":
        hour = (datetime.fromisoformat(label.as_json()["start"]).hour + 8) % 24
        assert 1 <= hour < 4


def _dark(run: Run, label: Label) -> None:
    asset, rs = run.asset(label), run.readings(label)
    assert rs and all(r["ts_ms"] < label.start_ms for r in rs)
    assert rs[-1]["ts_ms"] > label.start_ms - 1.1 * asset["cadence_s"] * 1000
    if label.scenario == "ship_dark_at_sea":
        assert rs[-1]["ignition"] and rs[-1]["speed_kmh"] > 10
        origin = [r for r in rs if r["ts_ms"] < label.start_ms - _transit_ms(label)][-1]
        sailed = haversine_m(origin["lat"], origin["lon"], rs[-1]["lat"], rs[-1]["lon"])
        # The last fix and the one before the voyage are each up to one cadence off.
        slack_m = 2 * label.params["speed_kmh"] / 3.6 * asset["cadence_s"] + 200
        assert sailed > label.params["distance_m"] - slack_m


def _ignition_share(rs: list[dict[str, Any]]) -> float:
    return sum(r["ignition"] for r in rs) / max(1, len(rs))


def _idle(run: Run, label: Label) -> None:
    before, during, _ = _split(run.readings(label), label)
    assert before and during
    if label.scenario == "abrupt_shutdown":
        assert not any(r["ignition"] or r["speed_kmh"] for r in during)
        return
    ramp_end = label.start_ms + label.params["ramp_s"] * 1000
    last = [r for r in during if r["ts_ms"] >= ramp_end]
    assert last and _ignition_share(last) < 0.3 * _ignition_share(before)


def _power_cut(run: Run, label: Label) -> None:
    before, during, _ = _split(run.readings(label), label)
    assert all(r["ext_power"] for r in before)
    assert during and all(r["ext_power"] is False and r["tamper"] is False for r in during)
    assert during[-1]["battery_v"] < during[0]["battery_v"] - 0.1


def _tamper(run: Run, label: Label) -> None:
    before, during, _ = _split(run.readings(label), label)
    assert not any(r["tamper"] for r in before)
    assert during and all(r["tamper"] and r["ext_power"] for r in during)


def _jamming(run: Run, label: Label) -> None:
    before, during, after = _split(run.readings(label), label)
    assert during and all(r["gnss_fix"] == 0 and "lat" not in r for r in during)
    assert any(r["ignition"] for r in during)
    assert all(r["gnss_fix"] == 3 and "lat" in r for r in before + after)


def _teleport(run: Run, label: Label) -> None:
    asset = run.asset(label)
    before, during, after = _split(run.readings(label), label)
    assert during and all(_dist(asset, r) > 200_000 for r in during)
    assert all(_dist(asset, r) < site_reach_m(asset["site"]) for r in before + after)


def _frozen(run: Run, label: Label) -> None:
    _, during, _ = _split(run.readings(label), label)
    assert len({(r["lat"], r["lon"]) for r in during}) == 1
    assert sum(r["ignition"] for r in during) > len(during) / 3


def _replay(run: Run, label: Label) -> None:
    before, during, _ = _split(run.readings(label), label)
    old = {(r["lat"], r["lon"]) for r in before}
    assert during and all((r["lat"], r["lon"]) in old for r in during)
    lag_ms = label.params["lag_s"] * 1000
    assert all(r["ts_ms"] - lag_ms - HOUR_MS < min(x["ts_ms"] for x in before
                                                    if (x["lat"], x["lon"]) == (r["lat"], r["lon"]))
               for r in during)


def _clone(run: Run, label: Label) -> None:
    asset = run.asset(label)
    _, during, _ = _split(run.readings(label), label)
    far = [r for r in during if _dist(asset, r) > 40_000]
    near = [r for r in during if _dist(asset, r) < site_reach_m(asset["site"])]
    assert far and near
    seqs = [r["seq"] for r in during]
    assert seqs != sorted(seqs) or len(set(seqs)) < len(seqs)


def _fault(run: Run, label: Label) -> None:
    before, during, _ = _split(run.readings(label), label)
    ramp_end = label.start_ms + label.params["ramp_s"] * 1000
    on_before = [r for r in before if r["ignition"]]
    on_late = [r for r in during if r["ignition"] and r["ts_ms"] >= ramp_end]
    assert on_before and on_late
    if label.scenario == "equipment_overheat":
        rise = statistics.median(r["temp_c"] for r in on_late) - statistics.median(
            r["temp_c"] for r in on_before)
        assert rise > 0.5 * label.params["rise_c"]
    else:
        ratio = statistics.median(r["vibration_mm_s"] for r in on_late) / statistics.median(
            r["vibration_mm_s"] for r in on_before)
        assert ratio > 0.6 * label.params["factor"]


def _fuel_theft(run: Run, label: Label) -> None:
    before, during, _ = _split(run.readings(label), label)
    drained = [r for r in during if r["ts_ms"] > label.start_ms + label.params["drain_s"] * 1000]
    assert before and drained
    assert before[-1]["fuel_pct"] - drained[0]["fuel_pct"] > 0.7 * label.params["drop_pct"]
    assert not any(r["ignition"] for r in during if r["ts_ms"] < drained[0]["ts_ms"])


def _trip_and_back(run: Run, label: Label) -> None:
    asset, rs = run.asset(label), run.readings(label)
    before, during, after = _split(rs, label)
    reach = site_reach_m(asset["site"])
    middle = [r for r in during if abs(r["ts_ms"] - (label.start_ms + label.end_ms) / 2)
              < HOUR_MS]
    assert middle and all(_dist(asset, r) > 0.7 * label.params["distance_m"] for r in middle)
    assert all(_dist(asset, r) < reach for r in before + after)
    windows = asset["approved_moves"]
    assert any(w["start"] <= label.as_json()["start"] and label.as_json()["end"] <= w["end"]
               for w in windows)


def _holiday(run: Run, label: Label) -> None:
    asset = run.asset(label)
    _, during, _ = _split(run.readings(label), label)
    assert during and not any(r["ignition"] for r in during)
    assert any(w["start"] <= label.as_json()["start"] and label.as_json()["end"] <= w["end"]
               for w in asset["planned_downtime"])


def _dead_zone(run: Run, label: Label) -> None:
    sent = run.by_device[label.device_id]
    inside = [s for s in sent if label.start_ms <= s.reading["ts_ms"] < label.end_ms]
    assert inside and all(s.sent_ms >= label.end_ms for s in inside)
    assert all(s.batch == len(inside) + 1 for s in inside)
    assert not [s for s in sent if label.start_ms <= s.sent_ms < label.end_ms]


def _parked_drift(run: Run, label: Label) -> None:
    asset = run.asset(label)
    _, during, _ = _split(run.readings(label), label)
    parked = [r for r in during if not r["ignition"]]
    assert parked and all(_dist(asset, r) < site_reach_m(asset["site"]) for r in parked)
    spread = max(haversine_m(parked[0]["lat"], parked[0]["lon"], r["lat"], r["lon"])
                 for r in parked)
    assert spread > 0.5 * label.params["amplitude_m"]


CHECKS: dict[str, Callable[[Run, Label], None]] = {
    "relocation_tow_night": _relocated, "relocation_carried": _relocated,
    "relocation_slow_drift": _relocated, "ship_leaves_area": _relocated,
    "ship_dark_at_sea": _dark, "tracker_silenced": _dark, "utilisation_decline": _idle,
    "abrupt_shutdown": _idle, "power_cut": _power_cut, "tamper_case_open": _tamper,
    "jamming": _jamming, "spoof_teleport": _teleport, "spoof_frozen": _frozen,
    "spoof_replay": _replay, "cloned_device": _clone, "equipment_overheat": _fault,
    "equipment_vibration": _fault, "fuel_theft": _fuel_theft, "maintenance_trip": _trip_and_back,
    "holiday_shutdown": _holiday, "dead_zone": _dead_zone, "parked_drift": _parked_drift,
    "port_call": _trip_and_back,
}


def test_every_scenario_has_a_check() -> None:
    assert set(CHECKS) == set(SCENARIOS)
    assert set(INCIDENTS) | set(BENIGN) == set(SCENARIOS)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_labels_match_what_was_published(run: Run, scenario: str) -> None:
    labels = [x for x in run.labels if x.scenario == scenario]
    assert len(labels) == 2, "150 assets play each scenario twice"
    for label in labels:
        assert MONDAY_MS <= label.start_ms <= label.end_ms <= END_MS
        CHECKS[scenario](run, label)


def test_labels_follow_the_recording_contract(run: Run) -> None:
    for label in run.labels:
        line = label.as_json()
        assert set(line) == {"asset_id", "device_id", "scenario", "alert_kind", "benign",
                             "start", "end", "params"}
        assert line["alert_kind"] == SCENARIOS[line["scenario"]]
        assert line["benign"] is (line["alert_kind"] is None)
        assert line["start"].endswith("Z") and line["start"] <= line["end"]
    assert len({x.asset_id for x in run.labels}) == len(run.labels)


def test_every_message_passes_the_wire_contract(run: Run) -> None:
    for topic, payload, t_ms in run.messages[::7]:
        decoded = decode_message(topic, payload, t_ms)
        assert decoded.rejections == []


def test_scenarios_fit_their_asset(run: Run) -> None:
    kinds = {a["id"]: a["kind"] for a in run.fleet["assets"]}
    assert all(kinds[x.asset_id] == "ship" for x in run.labels if "ship" in x.scenario
               or x.scenario == "port_call")
    assert all(kinds[x.asset_id] == "truck" for x in run.labels
               if x.scenario in ("jamming", "spoof_frozen", "spoof_replay"))


def test_library_refuses_runs_too_short_to_play_it() -> None:
    with pytest.raises(ValueError, match="at least 6 hours"):
        script_library([], 1, MONDAY_MS, 3600)


def test_every_incident_leaves_three_hours_of_the_run_to_be_seen() -> None:
    # A spoofed position scheduled 22 s before a 14-day run ended was once a label no
    # detector could see (seed 603); every scheduler now leaves at least three hours.
    duration_s = 14 * 86_400
    late = []
    for seed in (603, *range(1, 9)):
        fleet = labelled_fleet(240, seed, MONDAY_MS, duration_s)
        late += [(seed, row["kind"], duration_s - row["start_s"])
                 for row in fleet["simulation"]["incidents"]
                 if row["start_s"] > duration_s - 3 * 3600]
    assert late == []
