"""A lender is told by webhook when its collateral stops being judged, and when it is again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ingest.handoff import partition_of
from monitor.coverage_watch import COVERAGE_EVENT, CoverageWatch
from monitor.webhooks import WebhookDispatcher
from monitor.workers import record_beat
from registry import Registry
from registry.models import OutboxEvent
from tests.integration.helpers import small_fleet
from tests.monitor.conftest import RegistryWith

T = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
P = partition_of("asset-1", 4)  # lender-1's excavator; asset-2 (lender-2) is elsewhere
REST = [p for p in range(4) if p != P]


def two_lenders() -> dict[str, Any]:
    fleet = small_fleet("http://127.0.0.1:9")
    fleet["lenders"].append({"id": "lender-2", "name": "Inland Bank"})
    fleet["loans"].append({"id": "loan-2", "lender_id": "lender-2", "borrower": "Blue"})
    fleet["assets"].append({**fleet["assets"][0], "id": "asset-2", "loan_id": "loan-2",
                            "device_id": "cm-2"})
    assert partition_of("asset-2", 4) != P
    return fleet


def beat(registry: Registry, client_id: str, partitions: Sequence[int], at: datetime, *,
         starting: bool = False) -> None:
    with registry.session() as session:
        record_beat(session, client_id, partitions, 4, 30.0, 0, 0, at, starting=starting)


def told(registry: Registry) -> list[tuple[str, dict[str, Any]]]:
    with registry.session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == COVERAGE_EVENT)
                               .order_by(OutboxEvent.id))
        return [(r.lender_id, json.loads(r.payload)["data"]) for r in rows]


def test_a_dead_worker_is_told_to_its_lenders_once_and_its_return_too(
        registry_with: RegistryWith) -> None:
    registry = registry_with(two_lenders())
    watch, other = CoverageWatch(registry, 4), CoverageWatch(registry, 4)  # two dispatchers
    beat(registry, "m-a", REST, T, starting=True)
    beat(registry, "m-b", [P], T, starting=True)
    assert watch.check(T) == [] and watch.check(T + MINUTE) == []  # all watched: no news

    beat(registry, "m-a", REST, T + 10 * MINUTE)  # m-b has said nothing since T
    assert watch.check(T + 10 * MINUTE) == []  # once is not yet news
    assert watch.check(T + 11 * MINUTE) == ["lender-1"]  # lender-2's asset is still judged
    assert other.check(T + 10 * MINUTE) == [] and other.check(T + 11 * MINUTE) == []
    assert watch.check(T + 12 * MINUTE) == []  # told once, by either dispatcher
    [(lender, data)] = told(registry)
    assert (lender, data["state"], data["unwatched_assets"], data["asset_ids"],
            data["partitions"], data["since"]) == (
        "lender-1", "unwatched", 1, ["asset-1"], [P], "2026-11-29T12:10:00.000Z")

    beat(registry, "m-b", [P], T + 13 * MINUTE, starting=True)  # restarted
    beat(registry, "m-a", REST, T + 13 * MINUTE)
    assert watch.check(T + 13 * MINUTE) == [] and watch.check(T + 14 * MINUTE) == ["lender-1"]
    assert [d["state"] for _, d in told(registry)] == ["unwatched", "watched"]

    # It dies again: the same state as the first time, told again all the same.
    beat(registry, "m-a", REST, T + 20 * MINUTE)
    assert watch.check(T + 20 * MINUTE) == [] and watch.check(T + 21 * MINUTE) == ["lender-1"]
    assert [d["state"] for _, d in told(registry)] == ["unwatched", "watched", "unwatched"]


def test_a_restart_between_two_checks_is_not_news(registry_with: RegistryWith) -> None:
    registry = registry_with()
    watch = CoverageWatch(registry, 4)
    beat(registry, "m-a", range(4), T, starting=True)
    assert watch.check(T + 10 * MINUTE) == []  # silent: once
    beat(registry, "m-a", range(4), T + 11 * MINUTE, starting=True)
    assert watch.check(T + 11 * MINUTE) == [] and watch.check(T + 12 * MINUTE) == []
    assert told(registry) == []


def test_the_dispatcher_checks_every_minute_and_delivers_on(registry_with: RegistryWith) -> None:
    registry = registry_with()
    watch = CoverageWatch(registry, 4)  # no worker has ever reported: nothing is watched
    dispatcher = WebhookDispatcher(registry, coverage=watch)
    dispatcher.run_once(T)
    dispatcher.run_once(T + timedelta(seconds=30))  # within the minute: no second check
    assert told(registry) == []
    dispatcher.run_once(T + MINUTE)
    assert [(lender, d["state"]) for lender, d in told(registry)] == [("lender-1", "unwatched")]


def test_more_of_a_lenders_collateral_going_dark_is_news_too(
        registry_with: RegistryWith) -> None:
    fleet = small_fleet("http://127.0.0.1:9")
    fleet["assets"].append({**fleet["assets"][0], "id": "asset-4", "device_id": "cm-4"})
    registry = registry_with(fleet)
    q = partition_of("asset-4", 4)
    assert q != P
    rest = [p for p in range(4) if p not in (P, q)]
    watch = CoverageWatch(registry, 4)
    for client, parts in (("m-a", rest), ("m-b", [P]), ("m-c", [q])):
        beat(registry, client, parts, T, starting=True)
    beat(registry, "m-a", rest, T + 10 * MINUTE)
    beat(registry, "m-c", [q], T + 10 * MINUTE)  # m-b silent
    watch.check(T + 10 * MINUTE)
    assert watch.check(T + 11 * MINUTE) == ["lender-1"]
    beat(registry, "m-a", rest, T + 20 * MINUTE)  # now m-c too
    watch.check(T + 20 * MINUTE)
    assert watch.check(T + 21 * MINUTE) == ["lender-1"]
    assert watch.check(T + 22 * MINUTE) == []
    assert [(d["state"], d["partitions"], d["unwatched_assets"]) for _, d in told(registry)] == [
        ("unwatched", [P], 1), ("unwatched", sorted([P, q]), 2)]
