"""``collateral demo``: the whole platform on embedded defaults, with a simulated fleet.

It generates a fleet with scripted incidents, starts everything, plays the
fleet at ``speed`` times real time (starting in the past, so device time never
runs ahead of the wall clock), injects a few malformed messages, and at the
end writes a summary: what was published, stored, dead-lettered, raised and
delivered, and for each scripted incident whether its alert was raised.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from collateral.platform import Platform
from collateral.receiver import WebhookReceiver
from collateral.settings import Settings
from devices.fleet import dump_fleet, generate_fleet
from devices.publisher import PublishStats, run_simulation
from ingest.deadletter import dead_letter_counts
from registry import import_fleet
from registry.models import Alert, OutboxEvent
from registry.tokens import issue_token

__all__ = ["DemoOptions", "run_demo", "INCIDENT_ALERT_KIND"]

log = logging.getLogger(__name__)

#: Which alert kind a scripted incident must raise.
INCIDENT_ALERT_KIND: Mapping[str, str] = {
    "relocation": "geofence_exit",
    "idle": "idle",
    "dark": "tracker_dark",
    "tamper": "tamper",
}

#: Alerts an incident also explains: the scripted tamper cuts external power too.
INCIDENT_SIDE_KINDS: Mapping[str, tuple[str, ...]] = {"tamper": ("power_cut",)}


@dataclass(frozen=True, slots=True)
class DemoOptions:
    assets: int = 300
    seed: int = 7
    speed: float = 720.0
    duration_s: float | None = None
    summary_json: Path | None = None
    drain_timeout_s: float = 20.0


def run_demo(settings: Settings, options: DemoOptions,
             stop: threading.Event | None = None) -> dict[str, Any]:
    stop = stop or threading.Event()
    run_dir = _run_dir(settings.data_dir)
    # The demo's webhook receiver listens on 127.0.0.1: allow private targets here.
    settings = settings.model_copy(update={"data_dir": run_dir, "webhook_allow_private": True})
    platform = Platform(settings)
    receiver: WebhookReceiver | None = None
    try:
        broker_url = platform.start_broker()
        fleet, receiver = _prepare_fleet(platform, options, run_dir)
        platform.start_services()
        _announce(platform, receiver, run_dir)
        stats = _simulate(fleet, broker_url, options, stop)
        _drain(platform, stats, options.drain_timeout_s)
        summary = _summarise(platform, receiver, stats)
    finally:
        platform.stop()
        if receiver is not None:
            receiver.stop()
    if options.summary_json is not None:
        options.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
        log.info("summary written to %s", options.summary_json)
    return summary


def _run_dir(base: Path) -> Path:
    path = base / f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prepare_fleet(platform: Platform, options: DemoOptions,
                   run_dir: Path) -> tuple[dict[str, Any], WebhookReceiver]:
    # The receiver must know every lender's secret before the fleet exists,
    # so generate once for the secrets, then point the URLs at the receiver.
    receiver = WebhookReceiver({})
    base_url = receiver.start()
    fleet = generate_fleet(options.assets, seed=options.seed,
                           webhook_base_url=f"{base_url}/webhooks")
    receiver.set_secrets({x["id"]: x["webhook_secret"] for x in fleet["lenders"]})
    dump_fleet(fleet, run_dir / "fleet.yaml")
    from collateral.wiring import open_registry

    platform.registry = open_registry(platform.settings)
    import_fleet(platform.registry, fleet)
    with platform.registry.session() as session:
        platform.demo_token = issue_token(session, "demo-admin", "admin", name="demo")
    return fleet, receiver


def _announce(platform: Platform, receiver: WebhookReceiver, run_dir: Path) -> None:
    log.info("demo running: broker %s, dashboard %s/, webhooks received at %s, data in %s",
             platform.broker_url, platform.api_url, receiver.base_url, run_dir)
    # A demo token for the API and the page's login: the demo's registry is throwaway.
    log.info("demo admin API token (log in at %s/login, or curl -H 'Authorization: Bearer "
             "<token>'): %s", platform.api_url, platform.demo_token)


def _simulate(fleet: dict[str, Any], broker_url: str, options: DemoOptions,
              stop: threading.Event) -> PublishStats:
    from collateral.settings import parse_broker_url

    address = parse_broker_url(broker_url)
    span_s = (options.duration_s or 24 * 3600 / options.speed) * options.speed
    start_ms = int(time.time() * 1000 - span_s * 1000)
    return run_simulation(fleet, seed=options.seed, speed=options.speed, host=address.host,
                          port=address.port, start_ms=start_ms, duration_s=options.duration_s,
                          stop_event=stop, inject_malformed=True,
                          mqtt_username=address.username, mqtt_password=address.password)


def _drain(platform: Platform, stats: PublishStats, timeout_s: float) -> None:
    """Wait until ingest has every message and the outbox is empty, or time runs out."""
    assert platform.ingest is not None
    deadline = time.monotonic() + timeout_s
    sent = stats.published + stats.malformed_injected
    while time.monotonic() < deadline and platform.ingest.stats.received < sent:
        time.sleep(0.2)
    time.sleep(1.0)  # let the monitor see the last hand-off and tick once more
    while time.monotonic() < deadline and _pending_webhooks(platform) > 0:
        time.sleep(0.2)


def _pending_webhooks(platform: Platform) -> int:
    assert platform.registry is not None
    with platform.registry.session() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxEvent)
                                  .where(OutboxEvent.status == "pending")) or 0)


def _summarise(platform: Platform, receiver: WebhookReceiver,
               stats: PublishStats) -> dict[str, Any]:
    assert platform.registry is not None and platform.store is not None
    assert platform.ingest is not None
    received = receiver.stats()
    return {
        "messages_published": stats.published,
        "messages_acked_by_broker": stats.acked,
        "malformed_injected": stats.malformed_injected,
        "messages_received_by_ingest": platform.ingest.stats.received,
        "readings_stored": platform.store.count(),
        "dead_letters_by_reason": dead_letter_counts(platform.registry),
        "alerts_opened_by_kind": _alerts_by_kind(platform),
        "incidents": _incident_outcomes(platform, stats),
        "alerts_without_incident": _unexplained_alerts(platform, stats),
        "webhooks_delivered": received["delivered"],
        "webhook_duplicates": received["duplicates"],
        "signature_failures": received["signature_failures"],
        "webhook_outbox": _outbox_by_status(platform),
        "device_time": {"start_ms": stats.sim_start_ms, "end_ms": stats.sim_end_ms},
    }


def _alerts_by_kind(platform: Platform) -> dict[str, int]:
    assert platform.registry is not None
    with platform.registry.session() as session:
        rows = session.execute(select(Alert.kind, func.count()).group_by(Alert.kind)).all()
    return {kind: int(n) for kind, n in rows}


def _unexplained_alerts(platform: Platform, stats: PublishStats) -> list[dict[str, Any]]:
    """Alerts no scripted incident explains: false alarms, or side effects of an
    incident (a tampered tracker whose power was cut may also look idle)."""
    assert platform.registry is not None
    explained = {(i.asset_id, kind) for i in stats.incidents
                 for kind in (INCIDENT_ALERT_KIND.get(i.kind, i.kind),
                              *INCIDENT_SIDE_KINDS.get(i.kind, ()))}
    with platform.registry.session() as session:
        rows = session.execute(select(Alert.asset_id, Alert.kind, Alert.reason)).all()
    return [{"asset_id": a, "kind": k, "reason": r} for a, k, r in rows
            if (a, k) not in explained]


def _outbox_by_status(platform: Platform) -> dict[str, int]:
    assert platform.registry is not None
    with platform.registry.session() as session:
        rows = session.execute(select(OutboxEvent.status, func.count())
                               .group_by(OutboxEvent.status)).all()
    return {status: int(n) for status, n in rows}


def _incident_outcomes(platform: Platform, stats: PublishStats) -> list[dict[str, Any]]:
    assert platform.registry is not None
    out = []
    with platform.registry.session() as session:
        for incident in stats.incidents:
            kind = INCIDENT_ALERT_KIND.get(incident.kind, incident.kind)
            opened = session.scalar(
                select(func.min(Alert.opened_at_ms)).where(
                    Alert.asset_id == incident.asset_id, Alert.kind == kind,
                    Alert.opened_at_ms >= incident.start_ms))
            out.append({
                "incident": incident.kind, "asset_id": incident.asset_id,
                "device_id": incident.device_id, "expected_alert": kind,
                "started_at_ms": incident.start_ms, "raised": opened is not None,
                "detection_delay_s": None if opened is None
                else round((opened - incident.start_ms) / 1000, 1),
            })
    return out
