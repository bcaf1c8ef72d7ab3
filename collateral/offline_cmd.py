"""Offline tools, no broker or store: ``backtest``, ``score-series``, ``evaluate``.

- ``backtest``: recorded wire-v1 telemetry -> enrichment, detectors, alert
  lifecycle in device-time order -> one alert per line.
- ``score-series``: a ``timestamp,value[,load]`` CSV -> ``timestamp,value,anomaly_score``
  with the equipment-fault detector's scorer, each score from rows at and before it.
- ``evaluate``: a labelled simulated fleet scored per alert kind.

Bad input stops with a message naming the line; the output file is written
whole or not at all (a temporary file renamed at the end).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from collateral.settings import Settings

__all__ = ["add_commands"]

Command = Callable[[str, Callable[[Settings, argparse.Namespace], int], str],
                   argparse.ArgumentParser]


def add_commands(command: Command) -> None:
    bt = command("backtest", _cmd_backtest, "replay recorded telemetry through the detectors "
                                            "and write the alerts (no broker or store)")
    bt.add_argument("--registry", type=Path, required=True, help="fleet file (YAML/JSON)")
    bt.add_argument("--telemetry", type=Path, required=True,
                    help="recorded messages.jsonl, or one wire-v1 object per line")
    bt.add_argument("--out", type=Path, required=True, help="alerts JSONL to write")
    bt.add_argument("--tick-s", type=float, default=300.0,
                    help="device seconds between clock ticks (default 300)")
    ss = command("score-series", _cmd_score_series,
                 "score a timestamp,value CSV as the equipment-fault detector scores a series")
    ss.add_argument("--csv", type=Path, required=True, dest="csv_path",
                    help="timestamp,value header; an optional third column 'load' (power "
                         "draw or rpm) is what the value is judged against")
    ss.add_argument("--out", type=Path, help="CSV to write (default: stdout)")
    ss.add_argument("--series", metavar="FIELD",
                    help="score with the monitor's floors for this wire field (temp_c, "
                         "vibration_mm_s; default: any unit, 1%% of the level)")
    ss.add_argument("--both-ways", action="store_true",
                    help="also score falls (the monitor judges rises only)")
    ev = command("evaluate", _cmd_evaluate, "simulate a labelled fleet, run the detectors and "
                                            "print precision, recall, delay and false alarms")
    ev.add_argument("--seed", type=int, default=1)
    ev.add_argument("--assets", type=int, default=300)
    ev.add_argument("--days", type=float, default=14.0)
    ev.add_argument("--json", action="store_true", help="print the report as JSON")


@contextmanager
def _atomic(path: Path | None) -> Iterator[IO[str]]:
    """Write to ``path`` via a temporary file renamed on success; None is stdout."""
    if path is None:
        yield sys.stdout
        return
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _cmd_backtest(_settings: Settings, args: argparse.Namespace) -> int:
    from monitor.backtest import alert_line, load_fleet_file, read_telemetry, replay

    pledges, devices = load_fleet_file(args.registry)
    rejected: list[str] = []

    def reject(line: int, why: str) -> None:
        rejected.append(f"{args.telemetry}:{line}: {why}")

    result = replay(pledges, read_telemetry(args.telemetry, devices, reject), tick_s=args.tick_s)
    with _atomic(args.out) as out:
        for alert in result.alerts:
            out.write(json.dumps(alert_line(alert), separators=(",", ":")) + "\n")
    for line in rejected[:20]:
        print(f"rejected {line}", file=sys.stderr)
    print(json.dumps({"readings": result.readings, "alerts": len(result.alerts),
                      "rejected": len(rejected), "unknown_device": result.unknown_device,
                      "filtered": result.filtered}), file=sys.stderr)
    return 0


def _cmd_score_series(_settings: Settings, args: argparse.Namespace) -> int:
    """The equipment-fault detector's score for each row: 0.5 is where it raises an alert."""
    from monitor.anomaly import FAULT_WIDTH, FaultScorer
    from monitor.detectors.equipment_fault import SERIES

    known = dict(SERIES)
    if args.series is not None and args.series not in known:
        raise ValueError(f"--series {args.series!r}: the monitor scores {', '.join(known)}")
    rows = list(_read_series(args.csv_path))
    scorer = (known[args.series] if args.series is not None
              else FaultScorer.for_series(floor=1e-9, relative_floor=0.01))
    up, down = [0.0] * FAULT_WIDTH, [0.0] * FAULT_WIDTH
    with _atomic(args.out) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for stamp, raw, value, load in rows:
            score = scorer.score_learn(up, load, value)
            if args.both_ways:
                fall = scorer.score_learn(down, load, -value)
                score = fall if fall > score else score
            writer.writerow([stamp, raw, f"{score:.6f}"])
    return 0


def _read_series(path: Path) -> Iterator[tuple[str, str, float, float]]:
    """(timestamp, value as written, value, load) per row; load 0.0 without a load column."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        names = [h.strip().lower() for h in header or ()]
        if header is None or names[:2] != ["timestamp", "value"] or (
                names[2:] not in ([], ["load"])):
            raise ValueError(f"{path}:1: expected a 'timestamp,value' or "
                             f"'timestamp,value,load' header, got {header!r}")
        width = len(names)
        for number, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) < width:
                raise ValueError(f"{path}:{number}: expected {','.join(names)}, got {row!r}")
            value = _number(path, number, "value", row[1])
            load = _number(path, number, "load", row[2]) if width == 3 else 0.0
            yield row[0], row[1], value, load


def _number(path: Path, number: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}:{number}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{path}:{number}: {column} {text!r} is not finite")
    return value


def _cmd_evaluate(_settings: Settings, args: argparse.Namespace) -> int:
    from collateral.evaluate import evaluate, format_table

    if args.assets < 1 or args.days <= 0:
        raise ValueError("--assets must be at least 1 and --days positive")
    report: dict[str, Any] = evaluate(args.seed, args.assets, args.days)
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    return 0
