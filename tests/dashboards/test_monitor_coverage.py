"""GET /api/monitor/coverage and the dashboard's banner: assets no live monitor worker judges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from ingest.handoff import partition_of
from monitor.workers import record_beat
from registry import Registry
from tests.dashboards.conftest import WALL_MS, auth

NOW = datetime.fromtimestamp(WALL_MS / 1000, UTC)  # the app's clock in these tests
ALL = range(16)
TRUCK = partition_of("truck-1", 16)  # 10: plant-1 is in 0, ship-1 in 12


def say(registry: Registry, client_id: str, partitions: Sequence[int], ago_s: float = 5.0,
        *, stopping: bool = False) -> None:
    with registry.session() as session:
        record_beat(session, client_id, partitions, 16, 30.0, WALL_MS - 60_000, 0,
                    NOW - timedelta(seconds=ago_s), stopping=stopping)


def test_no_worker_means_nothing_is_watched(client: TestClient,
                                            app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    body = client.get("/api/monitor/coverage").json()
    assert (body["status"], body["workers"], body["unwatched_partitions"]) == (
        "down", [], list(ALL))
    assert sorted(body["unwatched_asset_ids"]) == ["plant-1", "ship-1", "truck-1"]
    anon, tokens = app_tokens  # a lender counts only its own assets
    mine = anon.get("/api/monitor/coverage", headers=auth(tokens["bob"])).json()
    assert (mine["unwatched_assets"], mine["unwatched_asset_ids"]) == (1, ["ship-1"])
    assert anon.get("/api/monitor/coverage").status_code == 401
    assert "No monitor worker has ever reported" in client.get("/").text


def test_a_silent_worker_leaves_its_partitions_unwatched(client: TestClient,
                                                         registry: Registry) -> None:
    say(registry, "m-a", [p for p in ALL if p != TRUCK])
    say(registry, "m-b", [TRUCK], ago_s=600)  # crashed ten minutes ago
    body = client.get("/api/monitor/coverage").json()
    assert (body["status"], body["unwatched_partitions"], body["unwatched_asset_ids"]) == (
        "degraded", [TRUCK], ["truck-1"])
    assert [(w["client_id"], w["state"]) for w in body["workers"]] == [
        ("m-a", "live"), ("m-b", "silent")]
    assert body["workers"][0]["watermark_at"] == "2025-12-28T11:59:00.000Z"  # what it judged
    page = client.get("/").text
    assert f"partition {TRUCK} has no live worker (m-b silent since" in page
    assert "1 watched asset of yours is not being judged" in page

    say(registry, "m-b", [TRUCK])  # back
    body = client.get("/api/monitor/coverage").json()
    assert (body["status"], body["unwatched_assets"]) == ("ok", 0)
    assert "Monitor " not in client.get("/").text


def test_a_partition_judged_twice_is_flagged(client: TestClient, registry: Registry) -> None:
    say(registry, "m-a", list(ALL))
    say(registry, "m-b", [TRUCK, 3])
    body = client.get("/api/monitor/coverage").json()
    assert (body["status"], body["doubled_partitions"], body["unwatched_assets"]) == (
        "degraded", [3, TRUCK], 0)
    assert f"partitions 3, {TRUCK} are judged by two live workers" in client.get("/").text
    say(registry, "m-b", [3])
    assert "partition 3 is judged by two live workers" in client.get("/").text


def test_a_closed_loan_is_not_counted(client: TestClient, registry: Registry) -> None:
    say(registry, "m-a", [p for p in ALL if p != TRUCK], stopping=False)
    assert client.patch("/api/loans/n1", json={"status": "closed"}).status_code == 200
    body = client.get("/api/monitor/coverage").json()
    assert (body["status"], body["unwatched_assets"]) == ("degraded", 0)


def test_an_uptime_checker_sees_the_monitor_without_a_token(
        app_tokens: tuple[TestClient, dict[str, str]], registry: Registry) -> None:
    anonymous, _ = app_tokens
    down = anonymous.get("/healthz/monitor")
    assert (down.status_code, down.json()["status"], down.json()["unwatched_partitions"]) == (
        503, "down", 16)
    say(registry, "m-a", list(ALL))
    up = anonymous.get("/healthz/monitor")
    assert (up.status_code, up.json()) == (200, {
        "status": "ok", "total_partitions": 16, "unwatched_partitions": 0,
        "doubled_partitions": 0, "live_workers": 1})
    assert "truck-1" not in up.text and "m-a" not in up.text  # counts only, no names
