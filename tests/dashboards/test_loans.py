from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from registry import Registry
from registry.models import OutboxEvent
from tests.dashboards.conftest import HOUR, SECRET, T0


def test_loans_most_severe_first_with_counts(client: TestClient) -> None:
    body = client.get("/api/loans").json()
    assert body["count"] == 2
    first, second = body["data"]
    assert (first["id"], first["warning_level"], first["asset_count"],
            first["open_alert_count"]) == ("n1", "critical", 2, 2)
    assert first["warning_reason"] == "tamper on truck-1 & more"
    assert first["warning_changed_at"] == "2025-11-28T11:00:00.000Z"
    assert (first["borrower"], first["principal"], first["currency"]) == (
        "Acme Haulage", 1e6, "EUR")
    assert (second["id"], second["warning_level"], second["asset_count"],
            second["open_alert_count"]) == ("n2", "normal", 1, 0)


def test_loan_filters(client: TestClient) -> None:
    assert [x["id"] for x in client.get("/api/loans?lender_id=l2").json()["data"]] == ["n2"]
    assert [x["id"] for x in
            client.get("/api/loans?warning_level=critical").json()["data"]] == ["n1"]
    assert client.get("/api/loans?warning_level=doomed").status_code == 422


def test_one_loan_with_assets_and_warning_history(client: TestClient) -> None:
    body = client.get("/api/loans/n1").json()
    assert body["warning_level"] == "critical"
    assert [a["id"] for a in body["assets"]] == ["plant-1", "truck-1"]
    assert body["assets"][1]["last_seen_ms"] == T0
    assert [(h["previous"], h["level"]) for h in body["warning_history"]] == [
        ("watch", "critical"), ("normal", "watch")]
    assert body["warning_history"][0]["at_ms"] == T0 - HOUR


def test_unknown_loan_is_404(client: TestClient) -> None:
    response = client.get("/api/loans/n9")
    assert response.status_code == 404 and "n9" in response.json()["detail"]


def test_lender_secrets_never_leave(client: TestClient) -> None:
    text = client.get("/api/loans").text + client.get("/api/loans/n1").text
    assert SECRET not in text and "token" not in text


def test_closing_a_loan_releases_it_from_the_watch_list(client: TestClient,
                                                        registry: Registry) -> None:
    assert client.get("/api/loans/n2").json()["status"] == "active"
    closed = client.patch("/api/loans/n2", json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed"
    assert abs(datetime.fromisoformat(body["closed_at"]) - datetime.now(UTC)) < timedelta(
        minutes=1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["closed_at"])
    assert client.get("/api/loans/n2").json()["closed_at"] == body["closed_at"]  # read back
    assert [x["id"] for x in client.get("/api/loans?status=active").json()["data"]] == ["n1"]
    assert [x["id"] for x in client.get("/api/loans?status=closed").json()["data"]] == ["n2"]
    assert client.get("/api/loans?status=repaid").status_code == 422
    for bad in ({"status": None}, {"status": "repaid"}):
        refused = client.patch("/api/loans/n2", json=bad)
        assert refused.status_code == 422 and "status" in refused.text
    audit = client.get("/api/audit").json()["data"]
    assert [(e["action"], e["detail"]) for e in audit if e["target_id"] == "n2"][0] == (
        "loan.update", {"status": "closed"})
    # The risk team's page lists the loans still watched.
    html = client.get("/").text
    assert "<code>n1</code>" in html and "<code>n2</code>" not in html
    reopened = client.patch("/api/loans/n2", json={"status": "active"}).json()
    assert (reopened["status"], reopened["closed_at"]) == ("active", None)
    # The lender's systems hear of both, whoever made them (here an admin).
    with registry.session() as session:
        told = [(e.lender_id, json.loads(e.payload)["data"]) for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "loan.status_changed")
            .order_by(OutboxEvent.id))]
    assert [(lender, data["loan_id"], data["status"], data["by"]) for lender, data in told] == [
        ("l2", "n2", "closed", "root"), ("l2", "n2", "active", "root")]
    assert told[0][1]["at"] == body["closed_at"]  # the API's and the webhook's shape alike
