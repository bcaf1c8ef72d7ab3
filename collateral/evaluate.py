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
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from devices.library import labelled_fleet
from devices.scenarios import SCENARIOS
from devices.simulator import Simulator
from ingest.wire import Reading, decode_message
from monitor.backtest import pledges_from_fleet, replay
from monitor.detectors.fences import INSIDE, Fence, build_fence
from monitor.model import AlertKind, Pledge
from monitor.scoring import KindScore, Label, Scored, percentile, score

__all__ = ["evaluate", "format_table", "exit_delays", "true_exit_ms", "DEFAULT_START_MS"]

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
    end_ms = start_ms + int(days * DAY_MS)
    moved = {row["asset_id"] for row in fleet["simulation"]["incidents"]
             if SCENARIOS.get(row["kind"]) == AlertKind.GEOFENCE_EXIT.value}
    # The simulator keeps the moved assets' true positions (before GNSS noise): exits are
    # timed from when the asset really left, not from its first noisy fix outside.
    sim = Simulator(fleet, seed, start_ms, truth_of={d for d, a in devices.items() if a in moved})
    result = replay(pledges, _readings(sim, end_ms, devices, start_ms))
    labels = [Label(lb.asset_id, lb.scenario, lb.alert_kind, lb.alert_kind is None,
                    lb.start_ms, lb.end_ms) for lb in sim.labels(end_ms)]
    alerts = [Scored(a.asset_id, a.kind.value, a.opened_at_ms) for a in result.alerts
              if not a.muted]
    scores = score(alerts, labels, asset_days=assets * days, kinds=[k.value for k in AlertKind])
    return {"seed": seed, "assets": assets, "days": days, "readings": result.readings,
            "labels": len(labels), "alerts": len(alerts), "filtered": result.filtered,
            "seconds": round(time.monotonic() - started, 1),
            "kinds": {k: v.as_dict() for k, v in scores.items()},
            "relocation_after_exit": exit_delays(
                labels, alerts, {a: sim.truth(d) for d, a in devices.items() if a in moved},
                pledges)}


def true_exit_ms(truth: Sequence[tuple[int, float, float]], fence: Fence, start_ms: int,
                 dwell_ms: int) -> int | None:
    """When the true position left the fence for good: the first (time, lat, lon) beyond it
    from which every true position over the following dwell stays beyond it."""
    path = [(t, fence.classify(lat, lon, 0.0) != INSIDE) for t, lat, lon in truth if t >= start_ms]
    for i, (t_ms, out) in enumerate(path):
        if out and all(beyond for t, beyond in path[i:] if t <= t_ms + dwell_ms):
            return t_ms
    return None


def exit_delays(labels: list[Label], alerts: list[Scored],
                truth: Mapping[str, Sequence[tuple[int, float, float]]],
                pledges: Mapping[str, Pledge]) -> dict[str, Any]:
    """Relocation alerts timed from when the asset really left (not the incident's start).

    ``truth`` holds each moved asset's true positions (the simulator's, before
    GNSS noise). A slow drift or a ship crossing a wide area is outside only
    hours after it starts moving; the target is an alert within the dwell
    time plus two readings of leaving.
    """
    delays, within = [], 0
    for label in labels:
        pledge = pledges[label.asset_id]
        if label.alert_kind != AlertKind.GEOFENCE_EXIT.value or pledge.site is None:
            continue
        fence = build_fence(pledge.site, default_radius_m=500.0)
        exit_ms = true_exit_ms(truth.get(label.asset_id, ()), fence, label.start_ms,
                               int(pledge.geofence_dwell_s * 1000))
        opened = min((a.opened_at_ms for a in alerts if a.asset_id == label.asset_id
                      and a.kind == label.alert_kind and a.opened_at_ms >= label.start_ms),
                     default=None)
        if exit_ms is None or opened is None:
            continue
        delay_s = max(0.0, (opened - exit_ms) / 1000)
        delays.append(delay_s)
        within += delay_s <= pledge.geofence_dwell_s + 2 * pledge.cadence_s
    return {"alerts": len(delays), "within_dwell_plus_two_readings": within,
            "median_s": statistics.median(delays) if delays else None,
            "p95_s": percentile(delays, 0.95) if delays else None}


def _readings(sim: Simulator, end_ms: int, devices: dict[str, str],
              start_ms: int) -> Iterator[tuple[str, Reading]]:
    """Decoded readings by asset, in the simulator's order."""
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
    exit_ = report.get("relocation_after_exit") or {}
    if exit_.get("alerts"):
        rows += ["", f"geofence_exit timed from the true exit (the simulator's position before "
                     f"GNSS noise leaving the fence for the dwell time): median "
                     f"{_minutes(exit_['median_s'])}, p95 {_minutes(exit_['p95_s'])}; "
                     f"{exit_['within_dwell_plus_two_readings']} of {exit_['alerts']} within "
                     f"the dwell time plus two readings"]
    return "\n".join([head, "", *rows])
