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


def test_score_series_scores_from_the_past_only(tmp_path: Path) -> None:
    values = [20 + 2 * math.sin(i / 12) for i in range(200)] + [45.0] + [20.0] * 5
    src = tmp_path / "s.csv"
    src.write_text("timestamp,value\n" + "".join(f"{i},{v:.3f}\n" for i, v in enumerate(values)))
    out = tmp_path / "scored.csv"
    assert main(["score-series", "--csv", str(src), "--out", str(out)]) == 0
    rows = read_rows(out)
    scores = [float(r["anomaly_score"]) for r in rows]
    assert len(rows) == len(values) and all(0.0 <= s <= 1.0 for s in scores)
    assert scores[200] > 0.8 and max(scores[20:200]) < 0.3
    # Only the past: scoring a prefix gives the same scores for it.
    src.write_text("timestamp,value\n" + "".join(f"{i},{v:.3f}\n"
                                                 for i, v in enumerate(values[:150])))
    assert main(["score-series", "--csv", str(src), "--out", str(out)]) == 0
    assert [float(r["anomaly_score"]) for r in read_rows(out)] == scores[:150]


@pytest.mark.parametrize("body,message", [("time,v\n1,2\n", "header"),
                                          ("timestamp,value\n1,abc\n", ":2: value 'abc'"),
                                          ("timestamp,value\n1,nan\n", "not finite")])
def test_score_series_refuses_bad_input_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str) -> None:
    src, out = tmp_path / "s.csv", tmp_path / "out.csv"
    src.write_text(body)
    assert main(["score-series", "--csv", str(src), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_evaluate_prints_a_row_per_kind_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--seed", "3", "--assets", "30", "--days", "0.5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["readings"] > 1000 and report["labels"] > 0
    kinds = report["kinds"]
    assert "geofence_exit" in kinds and "fuel_theft" in kinds
    for row in kinds.values():
        assert row["recall"] is None or 0.0 <= row["recall"] <= 1.0
