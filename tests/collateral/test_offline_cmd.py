"""``collateral backtest``, ``score-series`` and ``evaluate`` from the command line."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from collateral.cli import main
from devices.library import labelled_fleet
from devices.record import record_offline
from tests.integration.helpers import small_fleet

DAY_MS = 86_400_000
START_MS = 1_764_547_200_000


def test_backtest_replays_a_recording_and_finds_its_incidents(tmp_path: Path) -> None:
    fleet = labelled_fleet(40, seed=5, start_ms=START_MS, duration_s=86_400, per_scenario=1)
    record_offline(fleet, 5, START_MS, START_MS + DAY_MS, tmp_path / "rec")
    labels = [json.loads(x) for x in (tmp_path / "rec" / "labels.jsonl").read_text().splitlines()]
    out = tmp_path / "alerts.jsonl"
    assert main(["backtest", "--registry", str(tmp_path / "rec" / "fleet.yaml"), "--telemetry",
                 str(tmp_path / "rec" / "messages.jsonl"), "--out", str(out)]) == 0
    alerts = [json.loads(x) for x in out.read_text().splitlines()]
    found = {(a["asset_id"], a["kind"]) for a in alerts if not a["muted"]}
    wanted = {(lb["asset_id"], lb["alert_kind"]) for lb in labels
              if lb["alert_kind"] in ("geofence_exit", "tamper", "power_cut")}
    assert wanted and wanted <= found


def test_backtest_reports_bad_lines_and_keeps_the_good(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    fleet = small_fleet("http://127.0.0.1:9")
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    device = fleet["assets"][0]["device_id"]
    good = {"v": 1, "device_id": device, "readings": [{"seq": 1, "ts_ms": START_MS,
                                                       "tamper": True}]}
    (tmp_path / "t.jsonl").write_text("not json\n" + json.dumps(good) + "\n")
    out = tmp_path / "alerts.jsonl"
    assert main(["backtest", "--registry", str(tmp_path / "fleet.yaml"), "--telemetry",
                 str(tmp_path / "t.jsonl"), "--out", str(out)]) == 0
    assert [json.loads(x)["kind"] for x in out.read_text().splitlines()] == ["tamper"]
    err = capsys.readouterr().err
    assert "t.jsonl:1: not JSON" in err and '"rejected": 1' in err


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def score_series(tmp_path: Path, rows: list[tuple[object, ...]], *options: str,
                 header: str = "timestamp,value") -> list[float]:
    src, out = tmp_path / "s.csv", tmp_path / "scored.csv"
    src.write_text(header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))
    assert main(["score-series", "--csv", str(src), "--out", str(out), *options]) == 0
    scored = read_rows(out)
    assert [(r["timestamp"], r["value"]) for r in scored] == [(str(r[0]), str(r[1]))
                                                              for r in rows]
    return [float(r["anomaly_score"]) for r in scored]


def test_score_series_scores_from_the_past_only(tmp_path: Path) -> None:
    values = ([f"{20 + 2 * math.sin(i / 12):.3f}" for i in range(200)] + ["45.0"] * 4
              + ["20.0"] * 5)
    scores = score_series(tmp_path, list(enumerate(values)))
    assert len(scores) == len(values) and all(0.0 <= s <= 1.0 for s in scores)
    # Summed (CUSUM): 25 above, scored more with each row; 0.5 is where the monitor raises.
    assert max(scores[:200]) == 0.0 and 0.0 < scores[200] < scores[201] < 0.5 <= scores[202]
    # Only the past: scoring a prefix gives the same scores for it.
    assert score_series(tmp_path, list(enumerate(values[:150]))) == scores[:150]


def test_score_series_is_the_equipment_fault_detectors_score(tmp_path: Path) -> None:
    """With the load and the monitor's floors for temperature, the first row scored 0.5 or
    more is the reading on which the detector raises its alert."""
    from monitor.detectors.equipment_fault import EquipmentFaultDetector
    from tests.monitor.factories import make_pledge, make_reading

    rows, detector = [], EquipmentFaultDetector()
    state, raised = detector.initial_state(), None
    for i in range(700):  # a day of work, then 30 C hotter over 10 h at the same load
        ts = START_MS + i * 300_000
        load = round(600 + 40 * math.sin(i / 7), 1)
        temp = round(20 + 0.05 * load + 3 * math.sin(i / 40) + 30 * min(1, max(0, i - 400) / 120),
                     1)
        rows.append((ts, temp, load))
        state, found = detector.on_reading(
            state, make_reading(ts, temp_c=temp, ignition=True, power_kw=load), make_pledge())
        raised = i if found and raised is None else raised
    scores = score_series(tmp_path, rows, "--series", "temp_c", header="timestamp,value,load")
    assert raised is not None and 400 < raised < 520
    assert min(i for i, s in enumerate(scores) if s >= 0.5) == raised


def test_score_series_catches_a_slow_rise_and_with_both_ways_a_fall(tmp_path: Path) -> None:
    steady = [100 + (i % 6) for i in range(400)]
    slow_rise = steady + [105 + 0.5 * i for i in range(100)]  # half a unit a row: +50
    assert max(score_series(tmp_path, list(enumerate(slow_rise)))[400:]) >= 0.5
    fall = steady + [95 - 0.5 * i for i in range(100)]
    assert max(score_series(tmp_path, list(enumerate(fall)))) == 0.0  # the monitor: rises only
    assert max(score_series(tmp_path, list(enumerate(fall)), "--both-ways")[400:]) >= 0.5


@pytest.mark.parametrize("body,message", [
    ("time,v\n1,2\n", "header"), ("timestamp,value,wind\n1,2,3\n", "header"),
    ("timestamp,value\n1,abc\n", ":2: value 'abc'"), ("timestamp,value\n1,nan\n", "not finite"),
    ("timestamp,value,load\n1,2,3\n2,3\n", ":3: expected timestamp,value,load"),
    ("timestamp,value,load\n1,2,x\n", ":2: load 'x' is not a number")])
def test_score_series_refuses_bad_input_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str) -> None:
    src, out = tmp_path / "s.csv", tmp_path / "out.csv"
    src.write_text(body)
    assert main(["score-series", "--csv", str(src), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_score_series_names_the_fields_it_knows(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "s.csv"
    src.write_text("timestamp,value\n1,2\n")
    assert main(["score-series", "--csv", str(src), "--series", "fuel_pct"]) == 2
    assert "temp_c, vibration_mm_s" in capsys.readouterr().err


def test_evaluate_prints_a_row_per_kind_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--seed", "3", "--assets", "30", "--days", "0.5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["readings"] > 1000 and report["labels"] > 0
    kinds = report["kinds"]
    assert "geofence_exit" in kinds and "fuel_theft" in kinds
    for row in kinds.values():
        assert row["recall"] is None or 0.0 <= row["recall"] <= 1.0
