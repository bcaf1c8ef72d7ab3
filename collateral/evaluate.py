"""``collateral evaluate``: a labelled simulated fleet through the detectors, scored per kind.

The incident library (``devices.library``) plays every scenario and its
benign look-alikes on a generated fleet; the simulator's messages are
decoded as ingest would, replayed in device-time order through enrichment,
detectors and the alert lifecycle (``monitor.backtest``), and the alerts are
scored against the labels (``monitor.scoring``). Nothing needs a broker, a
store or a database; the same seed gives the same table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from devices.library import labelled_fleet
from devices.simulator import Simulator
from ingest.wire import Reading, decode_message
from monitor.backtest import pledges_from_fleet, replay
from monitor.model import AlertKind
from monitor.scoring import KindScore, Label, Scored, score

__all__ = ["evaluate", "format_table", "DEFAULT_START_MS"]

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
DEFAULT_START_MS = 1_764_547_200_000  # 2025-12-01T00:00:00Z
_NO_FUTURE_CHECK_MS = 4_102_444_800_000


def evaluate(seed: int, assets: int, days: float, start_ms: int = DEFAULT_START_MS,
             per_scenario: int | None = None) -> dict[str, Any]:
    """Simulate, detect and score; returns a JSON-able report."""
    started = time.monotonic()
    fleet = labelled_fleet(assets, seed, start_ms, days * 86_400, per_scenario)
    pledges, devices = pledges_from_fleet(fleet)
    sim = Simulator(fleet, seed, start_ms)
    end_ms = start_ms + int(days * DAY_MS)
    result = replay(pledges, _readings(sim, end_ms, devices, start_ms))
    labels = [Label(lb.asset_id, lb.scenario, lb.alert_kind, lb.alert_kind is None,
                    lb.start_ms, lb.end_ms) for lb in sim.labels(end_ms)]
    alerts = [Scored(a.asset_id, a.kind.value, a.opened_at_ms) for a in result.alerts
              if not a.muted]
    scores = score(alerts, labels, asset_days=assets * days, kinds=[k.value for k in AlertKind])
    return {"seed": seed, "assets": assets, "days": days, "readings": result.readings,
            "labels": len(labels), "alerts": len(alerts), "filtered": result.filtered,
            "seconds": round(time.monotonic() - started, 1),
            "kinds": {k: v.as_dict() for k, v in scores.items()}}


def _readings(sim: Simulator, end_ms: int, devices: dict[str, str],
              start_ms: int) -> Iterator[tuple[str, Reading]]:
    next_report = start_ms + DAY_MS
    for topic, payload, t_ms in sim.messages(end_ms):
        if t_ms >= next_report:
            log.info("evaluate: simulated %d of %d days", (t_ms - start_ms) // DAY_MS,
                     -(-(end_ms - start_ms) // DAY_MS))
            next_report += DAY_MS
        if not topic.startswith("telemetry/"):
            continue
        for reading in decode_message(topic, payload, now_ms=_NO_FUTURE_CHECK_MS).readings:
            yield devices.get(reading.device_id, ""), reading


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.0f} min"


def format_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table, one row per alert kind."""
    head = (f"seed {report['seed']}, {report['assets']} assets x {report['days']:g} days, "
            f"{report['readings']:,} readings, {report['labels']} labels, "
            f"{report['alerts']} alerts ({report['seconds']} s)")
    rows = ["| kind | labels | found | recall | precision | median delay | p95 delay "
            "| false alarms | per 1,000 asset-days |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, data in report["kinds"].items():
        k = KindScore(**data)
        rows.append(f"| {kind} | {k.labels} | {k.detected} | {_fmt(k.recall)} "
                    f"| {_fmt(k.precision)} | {_minutes(k.median_delay_s)} "
                    f"| {_minutes(k.p95_delay_s)} | {k.false_alarms} "
                    f"| {k.false_alarms_per_1000_asset_days:.2f} |")
    return "\n".join([head, "", *rows])
