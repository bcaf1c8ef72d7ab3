"""Ground truth on disk: ``--record DIR`` and the in-process API give the same, seeded, run."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from collateral.cli import main
from devices.fleet import load_fleet
from devices.library import labelled_fleet
from devices.publisher import run_simulation
from devices.record import Recorder, RecordError, record_offline
from devices.simulator import Simulator
from registry.fleet_io import parse_fleet

MONDAY_MS = 1_764_518_400_000
HOURS = 12
SEED = 21


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    return labelled_fleet(40, SEED, MONDAY_MS, HOURS * 3600, per_scenario=1)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_recording_holds_every_message_and_label(fleet: dict[str, Any], tmp_path: Path) -> None:
    end_ms = MONDAY_MS + HOURS * 3_600_000
    count = record_offline(copy.deepcopy(fleet), SEED, MONDAY_MS, end_ms, tmp_path)
    sim = Simulator(fleet, SEED, MONDAY_MS)
    expected = list(sim.messages(end_ms))
    lines = _lines(tmp_path / "messages.jsonl")
    assert count == len(lines) == len(expected) > 1000
    for line, (topic, payload, t_ms) in zip(lines, expected, strict=True):
        assert line == {"topic": topic, "qos": 1, "retain": False,
                        "payload": json.loads(payload), "wall_ms": t_ms}
    labels = _lines(tmp_path / "labels.jsonl")
    assert labels == [x.as_json() for x in sim.labels(end_ms)]
    assert len(labels) >= 15
    written = load_fleet(tmp_path / "fleet.yaml")
    assert written == fleet
    parsed = parse_fleet(yaml.safe_load((tmp_path / "fleet.yaml").read_text()))
    assert any(a.planned_downtime or a.approved_moves for a in parsed.assets)


def test_same_seed_same_messages_other_seed_others(fleet: dict[str, Any], tmp_path: Path) -> None:
    end_ms = MONDAY_MS + 6 * 3_600_000
    for name, seed in (("a", SEED), ("b", SEED), ("c", SEED + 1)):
        record_offline(copy.deepcopy(fleet), seed, MONDAY_MS, end_ms, tmp_path / name)
    same = [_digest(tmp_path / n / "messages.jsonl") for n in ("a", "b")]
    assert same[0] == same[1] != _digest(tmp_path / "c" / "messages.jsonl")
    assert _digest(tmp_path / "a" / "labels.jsonl") == _digest(tmp_path / "b" / "labels.jsonl")


def test_cli_generates_a_labelled_fleet_and_records_it_offline(tmp_path: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["simulate", "--generate", "30", "--library", "--days", "0.5", "--seed", "3",
                     "--start-ms", str(MONDAY_MS), "--kinds", "truck,construction,ship"]) == 0
    (tmp_path / "fleet.yaml").write_text(out.getvalue())
    generated = yaml.safe_load(out.getvalue())
    assert {a["kind"] for a in generated["assets"]} == {"truck", "construction", "ship"}
    assert generated["simulation"]["start_ms"] == MONDAY_MS
    with redirect_stdout(io.StringIO()) as printed:
        assert main(["simulate", "--fleet", str(tmp_path / "fleet.yaml"), "--seed", "3",
                     "--record", str(tmp_path / "rec"), "--offline"]) == 0
    summary = json.loads(printed.getvalue())
    assert summary["recorded"] == len(_lines(tmp_path / "rec" / "messages.jsonl")) > 100
    labels = _lines(tmp_path / "rec" / "labels.jsonl")
    assert labels and all(x["asset_id"] in {a["id"] for a in generated["assets"]}
                          for x in labels)


def test_cli_refuses_unknown_kinds_and_offline_without_record(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    assert main(["simulate", "--generate", "5", "--kinds", "truck,rocket"]) == 2
    assert "unknown asset kinds ['rocket']" in capsys.readouterr().err
    fleet_file = tmp_path / "f.yaml"
    with redirect_stdout(io.StringIO()) as out:
        main(["simulate", "--generate", "5"])
    fleet_file.write_text(out.getvalue())
    assert main(["simulate", "--fleet", str(fleet_file), "--offline"]) == 2
    assert "--offline needs --record DIR" in capsys.readouterr().err


def test_record_dir_that_cannot_be_created_is_a_clear_error(tmp_path: Path,
                                                            fleet: dict[str, Any]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordError, match="cannot record into"):
        Recorder(blocker / "sub", fleet)


@pytest.mark.integration
def test_record_during_a_broker_run_lists_what_was_published(mosquitto: Any,
                                                             tmp_path: Path) -> None:
    fleet = labelled_fleet(12, SEED, MONDAY_MS, 8 * 3600, per_scenario=1)
    for asset in fleet["assets"]:
        asset["device_id"] = f"rec-{asset['device_id']}"
    start_ms = time.time_ns() // 1_000_000 - 8 * 3_600_000
    stats = run_simulation(fleet, seed=SEED, speed=7200, host=mosquitto.host,
                           port=mosquitto.port, start_ms=start_ms, duration_s=3.0,
                           client_id_prefix="rec-sim", record_dir=tmp_path)
    lines = _lines(tmp_path / "messages.jsonl")
    telemetry = [x for x in lines if x["topic"].startswith("telemetry/")]
    status = [x for x in lines if x["topic"].startswith("status/")]
    assert len(telemetry) == stats.published == stats.acked > 100
    assert len(status) == stats.status_published
    assert {x["payload"] for x in status} >= {"online", "offline"}
    assert all(x["retain"] for x in status)
    labels = _lines(tmp_path / "labels.jsonl")
    assert labels and all(x["start"] <= x["end"] for x in labels)
