"""Each loan's page: its collateral, open alerts and warning history, and the button a
lender closes (releases) or reopens it with."""

from __future__ import annotations

from fastapi.testclient import TestClient

from registry import Registry
from registry.models import Loan
from tests.dashboards.conftest import auth


def test_the_page_shows_collateral_open_alerts_and_warning_history(client: TestClient) -> None:
    response = client.get("/loans/n1")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "Acme Haulage" in html and 'level-critical">critical' in html
    assert "1,000,000 EUR" in html and "tamper on truck-1 &amp; more" in html
    assert '<a href="/alerts/2">tamper</a>' in html  # its open alerts link to their pages
    assert "Truck &lt;1&gt;" in html and "31.20000, 121.40000" in html  # escaped; position
    assert html.index('level-watch">watch') < html.index('level-normal">normal')  # history
    assert '<form class="act" method="post" action="/loans/n1">' in html
    assert "Close (repaid: release its collateral) as root" in html
    assert '<a href="/loans/n1">' in client.get("/").text  # the index links each loan here


def test_closing_from_the_page_is_the_api_s_close_audited(
        app_tokens: tuple[TestClient, dict[str, str]], registry: Registry) -> None:
    client, tokens = app_tokens
    client.post("/login", data={"token": tokens["ana"]})  # the page's cookie, as a browser
    done = client.post("/loans/n1", data={"action": "close"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/loans/n1?done=close"
    page = client.get(done.headers["location"]).text
    assert "Loan closed: its collateral is released" in page and "Reopen the loan" in page
    with registry.session() as session:
        loan = session.get(Loan, "n1")
        assert loan is not None and (loan.status, loan.closed_at is not None) == ("closed", True)
    audit = client.get("/api/audit", headers=auth(tokens["ana"])).json()["data"]
    assert (audit[0]["actor"], audit[0]["action"], audit[0]["detail"]) == (
        "ana", "loan.update", {"status": "closed"})
    assert '<a href="/loans/n1">' not in client.get("/").text  # off the active loans
    client.post("/loans/n1", data={"action": "reopen"})
    assert client.get("/api/loans/n1", headers=auth(tokens["ana"])).json()["status"] == "active"


def test_who_may_close_and_what_is_refused(
        app_tokens: tuple[TestClient, dict[str, str]], registry: Registry) -> None:
    client, tokens = app_tokens
    for method in ("GET", "POST"):  # no token yet: to the login page, nothing changed
        anonymous = client.request(method, "/loans/n1", follow_redirects=False)
        assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login")
    client.post("/login", data={"token": tokens["bob"]})  # another lender: as if no such loan
    assert client.get("/loans/n1").status_code == 404
    assert client.post("/loans/n1", data={"action": "close"}).status_code == 404
    client.post("/login", data={"token": tokens["ann"]})  # an analyst reads, does not close
    page = client.get("/loans/n1").text
    assert "Acme Haulage" in page and "<form" not in page
    assert client.post("/loans/n1", data={"action": "close"}).status_code == 403
    client.post("/login", data={"token": tokens["ana"]})
    assert client.post("/loans/n1", data={"action": "explode"}).status_code == 422
    foreign = client.post("/loans/n1", data={"action": "close"},
                          headers={"origin": "https://evil.example"})
    assert foreign.status_code == 403
    with registry.session() as session:
        loan = session.get(Loan, "n1")
        assert loan is not None and loan.status == "active"  # none of them changed it
