from __future__ import annotations

from fastapi.testclient import TestClient

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
