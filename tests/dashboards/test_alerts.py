from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.dashboards.conftest import HOUR, MIN, T0


def test_all_alerts_newest_first(client: TestClient) -> None:
    body = client.get("/api/alerts").json()
    assert body["count"] == 3
    assert [(a["asset_id"], a["kind"]) for a in body["data"]] == [
        ("plant-1", "idle"), ("truck-1", "tamper"), ("truck-1", "geofence_exit")]


def test_alert_fields(client: TestClient) -> None:
    [alert] = client.get("/api/alerts?kind=geofence_exit").json()["data"]
    assert alert["status"] == "resolved"
    assert (alert["loan_id"], alert["lender_id"]) == ("n1", "l1")
    assert alert["opened_at_ms"] == T0 - 3 * HOUR
    assert alert["opened_at"] == "2025-11-28T09:00:00.000Z"
    assert alert["resolved_at"] == "2025-11-28T10:00:00.000Z"
    assert (alert["reason"], alert["details"]) == ("left the yard", {"n": 1})


@pytest.mark.parametrize(("query", "expected"), [
    ("status=open", ["idle", "tamper"]),
    ("status=resolved", ["geofence_exit"]),
    ("status=all", ["idle", "tamper", "geofence_exit"]),
    ("asset_id=truck-1", ["tamper", "geofence_exit"]),
    ("loan_id=n2", []),
    ("lender_id=l1&status=open&kind=idle", ["idle"]),
    ("limit=1&offset=1", ["tamper"]),
])
def test_filters(client: TestClient, query: str, expected: list[str]) -> None:
    assert [a["kind"] for a in client.get(f"/api/alerts?{query}").json()["data"]] == expected


@pytest.mark.parametrize("query", ["status=closed", "kind=flood", "limit=0", "offset=-2"])
def test_bad_filters_are_422(client: TestClient, query: str) -> None:
    response = client.get(f"/api/alerts?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][0] == "query"
    assert response.headers["content-type"] == "application/problem+json"


def test_open_alert_since(client: TestClient) -> None:
    [idle] = client.get("/api/alerts?kind=idle").json()["data"]
    assert idle["opened_at_ms"] == T0 - 30 * MIN and idle["resolved_at"] is None
