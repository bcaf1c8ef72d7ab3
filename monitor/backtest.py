"""Offline replay: recorded telemetry -> enrichment and detectors -> alerts, no broker or store.

``replay`` feeds readings in device-time order through a ``DetectionEngine``
and the alert lifecycle, ticking the clock every ``tick_s`` of device time
(tracker dark and hold-downs need time to pass between readings). Readings
of a device that no pledge knows are counted and skipped, never dropped
silently.

>>> from monitor.model import Site
>>> pledge = Pledge("a1", "l1", "b1", "truck", Site(48.0, 11.0, radius_m=200))
>>> t0 = 1_764_331_200_000
>>> readings = [("a1", Reading("d1", i, t0 + i * 300_000, lat=48.0 + (0.05 if i > 3 else 0),
...                          lon=11.0, gnss_fix=3, hdop=1.0)) for i in range(12)]
>>> result = replay({"a1": pledge}, readings)
>>> [(a.kind.value, a.opened_at_ms - t0) for a in result.alerts]
[('geofence_exit', 1800000)]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingest.wire import Reading, decode_message
from monitor.alerts import Alert, AlertPolicy, AlertStatus, apply_finding, apply_tick
from monitor.engine import DetectionEngine, default_detectors
from monitor.model import AlertKind, Finding, Pledge
from monitor.pledges import pledge_of
from registry.fleet_io import parse_fleet

__all__ = ["ReplayResult", "replay", "load_fleet_file", "pledges_from_fleet", "read_telemetry",
           "alert_line"]

log = logging.getLogger(__name__)

_NO_FUTURE_CHECK_MS = 4_102_444_800_000  # 2100: device time is judged by the noise filter
_PROGRESS_EVERY = 500_000  # readings between progress lines


@dataclass(slots=True)
class ReplayResult:
    alerts: list[Alert] = field(default_factory=list)  # every alert, in opening order
    readings: int = 0
    unknown_device: int = 0
    filtered: dict[str, int] = field(default_factory=dict)


def load_fleet_file(path: Path) -> tuple[dict[str, Pledge], dict[str, str]]:
    """Pledges by asset id and asset id by device id, from a registry fleet file (YAML/JSON)."""
    return pledges_from_fleet(yaml.safe_load(path.read_text()))


def pledges_from_fleet(data: Any) -> tuple[dict[str, Pledge], dict[str, str]]:
    """Pledges by asset id and asset id by device id, from a fleet document."""
    fleet = parse_fleet(data)
    lender_of = {loan.id: loan.lender_id for loan in fleet.loans}
    pledges = {a.id: pledge_of(a, lender_of[a.loan_id]) for a in fleet.assets}
    devices = {d.id: d.asset_id for d in fleet.devices}
    devices.update({a.device_id: a.id for a in fleet.assets if a.device_id})
    return pledges, devices


def read_telemetry(path: Path, devices: Mapping[str, str],
                   rejected: Callable[[int, str], None]) -> Iterator[tuple[str, Reading]]:
    """(asset id, reading) from a recording (``messages.jsonl``) or bare wire-v1 lines.

    A line that is not telemetry (a status message) is skipped; a line that is
    bad telemetry is reported to ``rejected(line_no, why)``.
    """
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            yield from _line_readings(number, line, devices, rejected)


def _line_readings(number: int, line: bytes, devices: Mapping[str, str],
                   rejected: Callable[[int, str], None]) -> Iterator[tuple[str, Reading]]:
    try:
        record = json.loads(line)
    except ValueError as exc:
        rejected(number, f"not JSON: {exc}")
        return
    if isinstance(record, dict) and "topic" in record:
        topic, payload = str(record["topic"]), record.get("payload")
        if not topic.startswith("telemetry/"):
            return
    elif isinstance(record, dict):
        topic, payload = f"telemetry/{record.get('device_id')}", record
    else:
        rejected(number, "neither a recorded message nor a wire-v1 object")
        return
    raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    decoded = decode_message(topic, raw, now_ms=_NO_FUTURE_CHECK_MS)
    for rejection in decoded.rejections:
        rejected(number, f"{rejection.reason.value}: {rejection.detail}")
    for reading in decoded.readings:
        yield devices.get(reading.device_id, ""), reading


def replay(pledges: Mapping[str, Pledge], readings: Iterable[tuple[str, Reading]],
           *, tick_s: float = 300.0, policy: AlertPolicy | None = None,
           engine: DetectionEngine | None = None) -> ReplayResult:
    """Run ``readings`` (asset id, reading) through detectors and lifecycle in device-time order."""
    policy = policy or AlertPolicy()
    # Not `engine or ...`: an engine's len() counts its assets, so a fresh one is falsy.
    engine = DetectionEngine(default_detectors()) if engine is None else engine
    result = ReplayResult()
    ordered = sorted((r for r in readings), key=lambda pair: pair[1].ts_ms)
    book = _AlertBook(pledges, policy, result)
    tick_ms = int(tick_s * 1000)
    next_tick = None
    for asset_id, reading in ordered:
        pledge = pledges.get(asset_id)
        if pledge is None:
            result.unknown_device += 1
            continue
        ts = reading.ts_ms
        next_tick = ts - ts % tick_ms + tick_ms if next_tick is None else next_tick
        while ts >= next_tick:
            book.tick(engine.tick(next_tick, pledges), next_tick)
            next_tick += tick_ms
        result.readings += 1
        book.apply(engine.observe(reading, pledge))
        if result.readings % _PROGRESS_EVERY == 0:
            log.info("backtest: %d of %d readings replayed, %d alerts so far",
                     result.readings, len(ordered), len(result.alerts))
    if next_tick is not None:
        book.tick(engine.tick(next_tick, pledges), next_tick)
    result.filtered = dict(engine.filtered)
    return result


class _AlertBook:
    """The lifecycle over all alerts of a replay, in memory."""

    def __init__(self, pledges: Mapping[str, Pledge], policy: AlertPolicy,
                 result: ReplayResult) -> None:
        self.pledges, self.policy, self.result = pledges, policy, result
        self.current: dict[tuple[str, AlertKind], int] = {}  # key -> index in result.alerts

    def apply(self, findings: list[Finding]) -> None:
        for finding in findings:
            key = (finding.asset_id, finding.kind)
            at = self.current.get(key)
            alert = self.result.alerts[at] if at is not None else None
            new, _ = apply_finding(alert, finding, self.policy, self._windows(finding.asset_id))
            self._store(key, at, alert, new)

    def tick(self, findings: list[Finding], now_ms: int) -> None:
        self.apply(findings)
        for key, at in list(self.current.items()):
            alert = self.result.alerts[at]
            if alert.status is AlertStatus.OPEN:
                new, _ = apply_tick(alert, now_ms, self.policy, self._windows(key[0]))
                self._store(key, at, alert, new)

    def _store(self, key: tuple[str, AlertKind], at: int | None, old: Alert | None,
               new: Alert | None) -> None:
        if new is None or new is old:
            return
        if at is not None and old is not None and new.opened_at_ms == old.opened_at_ms:
            self.result.alerts[at] = new  # the same alert, updated, resolved or reopened
            return
        self.current[key] = len(self.result.alerts)
        self.result.alerts.append(new)

    def _windows(self, asset_id: str) -> tuple[tuple[int, int], ...]:
        pledge = self.pledges.get(asset_id)
        return () if pledge is None else pledge.planned_downtime + pledge.approved_moves


def alert_line(alert: Alert) -> dict[str, Any]:
    """One alert as a JSON line of ``backtest``'s output."""
    return {"asset_id": alert.asset_id, "kind": alert.kind.value, "status": alert.status.value,
            "opened_at_ms": alert.opened_at_ms, "resolved_at_ms": alert.resolved_at_ms,
            "muted": alert.muted, "reopened": alert.reopened, "reason": alert.reason,
            "details": dict(alert.details)}
