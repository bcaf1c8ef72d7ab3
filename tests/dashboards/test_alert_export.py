"""Alerts for a period, and as CSV for a post-loan review: the API's export and the page's."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from dashboards.routes import alerts as alert_routes
from registry import Registry
from tests.dashboards.conftest import HOUR, MIN, T0, add_alert, auth


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_holds_what_the_list_holds(client: TestClient) -> None:
    listed = client.get("/api/alerts").json()["data"]
    response = client.get("/api/alerts/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    exported = rows(response.text)
    assert [int(r["id"]) for r in exported] == [a["id"] for a in listed]  # newest first
    geofence = next(r for r in exported if r["kind"] == "geofence_exit")
    assert (geofence["status"], geofence["resolved_at"], geofence["reason"]) == (
        "resolved", "2025-11-28T10:00:00.000Z", "left the yard")
    assert json.loads(geofence["details"]) == {"n": 1}
    assert rows(client.get("/api/alerts/export?status=open&kind=tamper").text)[0][
        "asset_id"] == "truck-1"


def test_alerts_opened_in_a_period(client: TestClient) -> None:
    def ids(query: str) -> list[str]:
        return [a["kind"] for a in client.get(f"/api/alerts?{query}").json()["data"]]

    assert ids(f"opened_since={T0 - HOUR}") == ["idle", "tamper"]  # at or after
    assert ids("opened_until=2025-11-28T11:00:00Z") == ["geofence_exit"]  # before
    assert ids(f"opened_since={T0 - 4 * HOUR}&opened_until={T0 - 45 * MIN}") == [
        "tamper", "geofence_exit"]
    assert len(rows(client.get(f"/api/alerts/export?opened_since={T0 - HOUR}").text)) == 2
    for query in ("opened_since=yesterday", f"opened_since={T0}&opened_until={T0}"):
        refused = client.get(f"/api/alerts?{query}")
        assert refused.status_code == 422 and "opened_" in refused.text


def test_a_cell_a_spreadsheet_would_run_is_made_inert(client: TestClient,
                                                      registry: Registry) -> None:
    add_alert(registry, "ship-1", "spoofing", T0, reason='=HYPERLINK("http://evil")')
    cell = rows(client.get("/api/alerts/export?kind=spoofing").text)[0]["reason"]
    assert cell == "'=HYPERLINK(\"http://evil\")"


def test_too_many_rows_are_refused_not_cut(client: TestClient,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alert_routes, "EXPORT_MAX_ROWS", 2)
    refused = client.get("/api/alerts/export")
    assert refused.status_code == 422 and "3 alerts match; at most 2" in refused.text
    assert len(rows(client.get("/api/alerts/export?status=open").text)) == 2


def test_the_pages_download_for_the_logged_in_lender_only(
        app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_tokens
    anonymous = client.get("/alerts.csv", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login")
    client.post("/login", data={"token": tokens["bob"]})  # l2: none of l1's alerts
    assert rows(client.get("/alerts.csv").text) == []
    client.post("/login", data={"token": tokens["ana"]})
    mine = rows(client.get("/alerts.csv?loan_id=n1").text)
    assert sorted(r["kind"] for r in mine) == ["geofence_exit", "idle", "tamper"]
    assert 'href="/alerts.csv?loan_id=n1"' in client.get("/loans/n1").text
    assert client.get("/api/alerts/export", headers=auth(tokens["bob"])).text.count("\n") == 1
