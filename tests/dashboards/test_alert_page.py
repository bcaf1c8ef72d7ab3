"""Each alert's page: what it says, its history, and the form people act on it with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from monitor.alerts import Alert as Lifecycle
from monitor.alerts import AlertStatus
from monitor.model import AlertKind
from registry import Registry
from registry.models import Alert
from tests.dashboards.conftest import auth

TAMPER = "/alerts/2"  # truck-1's open tamper alert, lender l1 (conftest.fill_registry)


def history(client: TestClient, token: str) -> list[dict[str, object]]:
    response = client.get(f"/api{TAMPER}/history", headers=auth(token))
    response.raise_for_status()
    return list(response.json())


def test_the_open_alerts_table_links_each_alert_to_its_page(client: TestClient) -> None:
    html = client.get("/").text
    assert f'href="{TAMPER}">tamper</a>' in html and 'href="/alerts/3">idle</a>' in html


def test_the_page_shows_the_alert_and_the_form(client: TestClient) -> None:
    response = client.get(TAMPER)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "tamper on <code>truck-1</code>" in html and "case opened" in html
    assert "2025-11-28 11:00:00" in html and "Nothing yet." in html
    assert f'<form class="act" method="post" action="{TAMPER}">' in html
    assert "Record as root" in html and 'http-equiv="refresh"' not in html  # no reload mid-note
    assert "idle &lt;script&gt;" in client.get("/alerts/3").text


def test_acknowledging_from_the_page_lands_in_the_history_and_the_audit_log(
        app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_tokens
    client.post("/login", data={"token": tokens["ana"]})  # the page's cookie, as a browser
    done = client.post(TAMPER, data={"action": "acknowledge", "note": "called <Acme>",
                                     "until": ""}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{TAMPER}?done=acknowledge"
    page = client.get(done.headers["location"]).text
    assert "Recorded: acknowledge" in page and "called &lt;Acme&gt;" in page
    [event] = history(client, tokens["ana"])
    assert (event["actor"], event["action"], event["note"]) == ("ana", "acknowledge",
                                                                "called <Acme>")
    audit = client.get("/api/audit", headers=auth(tokens["ana"])).json()["data"]
    assert (audit[0]["actor"], audit[0]["action"]) == ("ana", "alert.acknowledge")


def test_a_snooze_takes_its_time_as_utc(app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_tokens
    until = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    form = {"action": "snooze", "note": "site visit Tuesday",
            "until": until.strftime("%Y-%m-%dT%H:%M")}  # what a datetime-local field sends
    response = client.post(TAMPER, data=form, headers=auth(tokens["ana"]),
                           follow_redirects=False)
    assert response.status_code == 303
    [event] = history(client, tokens["ana"])
    assert event["action"] == "snooze" and event["until"] == until.isoformat().replace(
        "+00:00", "Z")


@pytest.mark.parametrize(("until", "message"), [
    ("", "snooze needs a time to snooze until"),
    ("next week", "until &#39;next week&#39; is not a time"),
    ("2020-01-01T10:00", "snooze must end in the future")])
def test_a_bad_snooze_records_nothing_and_keeps_what_was_typed(
        app_tokens: tuple[TestClient, dict[str, str]], until: str, message: str) -> None:
    client, tokens = app_tokens
    response = client.post(TAMPER, data={"action": "snooze", "note": "keep me", "until": until},
                           headers=auth(tokens["ana"]))
    assert response.status_code == 422
    assert "Nothing was recorded" in response.text and message in response.text
    assert ">keep me</textarea>" in response.text
    assert history(client, tokens["ana"]) == []


def test_an_unknown_action_is_refused(app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_tokens
    response = client.post(TAMPER, data={"action": "delete", "note": ""},
                           headers=auth(tokens["ana"]))
    assert response.status_code == 422 and "Nothing was recorded" in response.text
    assert history(client, tokens["ana"]) == []


def test_another_lender_neither_sees_nor_acts(
        app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_tokens
    bob = auth(tokens["bob"])
    assert client.get(TAMPER, headers=bob).status_code == 404
    assert client.post(TAMPER, data={"action": "acknowledge"}, headers=bob).status_code == 404
    assert client.get("/alerts/999", headers=bob).status_code == 404
    assert history(client, tokens["ana"]) == []


def test_who_may_not_act_sees_no_form_and_is_refused(
        app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_tokens
    pete = auth(tokens["pete"])
    page = client.get(TAMPER, headers=pete)
    assert page.status_code == 200 and "<form" not in page.text
    assert client.post(TAMPER, data={"action": "acknowledge"}, headers=pete).status_code == 403
    assert history(client, tokens["ana"]) == []


def test_a_form_posted_from_another_site_or_without_login_is_refused(
        app_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_tokens
    foreign = client.post(TAMPER, data={"action": "acknowledge"},
                          headers={**auth(tokens["ana"]), "Origin": "https://evil.test"})
    assert foreign.status_code == 403
    anonymous = client.post(TAMPER, data={"action": "acknowledge"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    assert client.get(TAMPER, follow_redirects=False).headers["location"] == "/login"
    assert history(client, tokens["ana"]) == []


def test_who_acknowledged_and_the_snooze_show_once_the_monitor_applied_them(
        app_tokens: tuple[TestClient, dict[str, str]], registry: Registry) -> None:
    with registry.session() as session:  # as the monitor stores it after applying the actions
        row = session.get(Alert, 2)
        assert row is not None
        row.state = Lifecycle("truck-1", AlertKind.TAMPER, AlertStatus.OPEN, row.opened_at_ms,
                              row.updated_at_ms, acked_by="ana", acked_at_ms=row.opened_at_ms,
                              snoozed_until_ms=row.opened_at_ms + 3_600_000).to_dict()
    client, tokens = app_tokens
    ana = auth(tokens["ana"])
    alert = client.get(f"/api{TAMPER}", headers=ana).json()
    assert (alert["acknowledged_by"], alert["resolved_by"]) == ("ana", None)
    assert alert["snoozed_until_ms"] - alert["acknowledged_at_ms"] == 3_600_000
    page = client.get(TAMPER, headers=ana).text
    assert ("open, acknowledged by ana at 2025-11-28 11:00:00, snoozed until 2025-11-28 12:00:00"
            in page)
    assert "<td>ana</td>" in client.get("/", headers=ana).text  # the open alerts table
    plain = client.get("/api/alerts/3", headers=ana).json()  # no lifecycle state stored
    assert plain["acknowledged_by"] is None and plain["snoozed_until_ms"] is None
