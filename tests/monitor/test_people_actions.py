"""Acknowledgements and resolutions made through the API reach the monitor's alerts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from monitor.model import AlertKind, Finding
from registry import Registry
from registry.access import AlertEvent as AlertHistory
from registry.models import Alert as AlertRow
from registry.models import OutboxEvent
from tests.monitor.conftest import RegistryWith
from tests.monitor.factories import MIN, T0, unstarted_monitor


def record(registry: Registry, alert_id: int, action: str, note: str = "",
           until_ms: int | None = None) -> None:
    until = None if until_ms is None else datetime.fromtimestamp(until_ms / 1000, UTC)
    with registry.session() as session:
        session.add(AlertHistory(alert_id=alert_id, at=datetime.now(UTC), actor="ana",
                                 action=action, note=note, until=until))


def test_api_actions_acknowledge_then_resolve_with_who_and_note(
        registry_with: RegistryWith) -> None:
    registry = registry_with()
    service = unstarted_monitor(registry)
    service.refresh_pledges()
    assert service.apply_people_actions(T0) == []  # starts after the history it finds
    finding = Finding("asset-1", AlertKind.TAMPER, True, T0, "tracker case opened")
    service.alerts.commit(service._apply([finding]), service.pledges)
    with registry.session() as session:
        alert_id = session.scalars(select(AlertRow.id)).one()
    record(registry, alert_id, "note", "just a note")
    record(registry, alert_id, "acknowledge", "calling the borrower")
    changes = service.apply_people_actions(T0 + MIN)
    assert [e.type.value for c in changes for e in c.events] == ["alert.acknowledged"]
    service.alerts.commit(changes, service.pledges)
    alert = service.alerts.open[("asset-1", AlertKind.TAMPER)]
    assert (alert.acked_by, alert.note) == ("ana", "calling the borrower")

    record(registry, alert_id, "resolve", "case closed on site")
    changes = service.apply_people_actions(T0 + 2 * MIN)
    service.alerts.commit(changes, service.pledges)
    assert ("asset-1", AlertKind.TAMPER) not in service.alerts.open
    with registry.session() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None and row.status == "resolved"
        sent = {e.event_type: json.loads(e.payload)["data"]
                for e in session.scalars(select(OutboxEvent))}
    assert {"alert.opened", "alert.acknowledged", "alert.resolved"} <= set(sent)
    # The lender's system learns who resolved it and why, not only that it resolved.
    resolved = sent["alert.resolved"]
    assert (resolved["why"], resolved["resolved_by"], resolved["acknowledged_by"],
            resolved["note"]) == ("resolved by ana", "ana", "ana", "case closed on site")
    assert sent["alert.opened"]["why"] == "condition started"
    # Every time in a webhook body has one shape: UTC, to the millisecond, with a Z.
    times = [resolved[k] for k in ("opened_at", "updated_at", "resolved_at")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t in times), times
    assert service.apply_people_actions(T0 + 3 * MIN) == []  # each action applied once
    with registry.session() as session:  # people's steps and the lifecycle's, in order
        history = session.execute(select(AlertHistory.actor, AlertHistory.action)
                                  .where(AlertHistory.alert_id == alert_id)
                                  .order_by(AlertHistory.id)).all()
    assert [tuple(h) for h in history] == [
        ("monitor", "alert.opened"), ("ana", "note"), ("ana", "acknowledge"),
        ("monitor", "alert.acknowledged"), ("ana", "resolve"), ("monitor", "alert.resolved")]


def test_api_snooze_quietens_the_alert_until_its_end_and_a_stale_one_is_skipped(
        registry_with: RegistryWith, caplog: pytest.LogCaptureFixture) -> None:
    registry = registry_with()
    service = unstarted_monitor(registry)
    service.refresh_pledges()
    assert service.apply_people_actions(T0) == []
    finding = Finding("asset-1", AlertKind.TAMPER, True, T0, "tracker case opened")
    service.alerts.commit(service._apply([finding]), service.pledges)
    with registry.session() as session:
        alert_id = session.scalars(select(AlertRow.id)).one()
    record(registry, alert_id, "snooze", "site visit on Monday", until_ms=T0 + 60 * MIN)
    changes = service.apply_people_actions(T0 + MIN)
    assert [e.type.value for c in changes for e in c.events] == ["alert.snoozed"]
    service.alerts.commit(changes, service.pledges)
    alert = service.alerts.open[("asset-1", AlertKind.TAMPER)]
    assert alert.snoozed_until_ms == T0 + 60 * MIN and alert.note == "site visit on Monday"
    assert alert.quiet_at(T0 + 59 * MIN) and not alert.quiet_at(T0 + 60 * MIN)
    with registry.session() as session:  # kept with the alert: a restart keeps the snooze
        row = session.get(AlertRow, alert_id)
        assert row is not None and row.state["snoozed_until_ms"] == T0 + 60 * MIN

    record(registry, alert_id, "snooze", "too late", until_ms=T0 + 2 * MIN)
    with caplog.at_level("WARNING", logger="monitor.service"):
        assert service.apply_people_actions(T0 + 3 * MIN) == []  # over in device time
    assert "snooze must end in the future" in caplog.text
    assert service.alerts.open[("asset-1", AlertKind.TAMPER)].snoozed_until_ms == \
        T0 + 60 * MIN
