"""Offline tools, no broker or store: ``backtest``, ``score-series``, ``evaluate``.

- ``backtest``: recorded wire-v1 telemetry -> enrichment, detectors, alert
  lifecycle in device-time order -> one alert per line.
- ``score-series``: a ``timestamp,value`` CSV -> ``timestamp,value,anomaly_score``
  with the equipment-health scorer, each score from rows at and before it.
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
                 "score a timestamp,value CSV with the equipment-health anomaly scorer")
    ss.add_argument("--csv", type=Path, required=True, dest="csv_path")
    ss.add_argument("--out", type=Path, help="CSV to write (default: stdout)")
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
    rows = list(_read_series(args.csv_path))
    from monitor.anomaly import SeriesScorer

    scorer = SeriesScorer(floor=1e-9, relative_floor=0.01)
    state = scorer.initial()
    with _atomic(args.out) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for stamp, raw, value in rows:
            writer.writerow([stamp, raw, f"{scorer.score_learn(state, value):.6f}"])
    return 0


def _read_series(path: Path) -> Iterator[tuple[str, str, float]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["timestamp", "value"]:
            raise ValueError(f"{path}:1: expected a 'timestamp,value' header, got {header!r}")
        for number, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{number}: expected timestamp,value, got {row!r}")
            try:
                value = float(row[1])
            except ValueError:
                raise ValueError(f"{path}:{number}: value {row[1]!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"{path}:{number}: value {row[1]!r} is not finite")
            yield row[0], row[1], value


def _cmd_evaluate(_settings: Settings, args: argparse.Namespace) -> int:
    from collateral.evaluate import evaluate, format_table

    if args.assets < 1 or args.days <= 0:
        raise ValueError("--assets must be at least 1 and --days positive")
    report: dict[str, Any] = evaluate(args.seed, args.assets, args.days)
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    return 0
