"""The registry API end to end: the README's walkthrough, webhook endpoints with their
SSRF guard and secret rotation, GeoJSON in and out, and bad input refused clearly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboards.app import create_app
from dashboards.deps import ApiOptions
from ingest.store.embedded import EmbeddedStore
from registry import Registry, export_fleet
from registry.access import Role
from registry.models import Lender
from tests.dashboards.conftest import WALL_MS, auth, make_token

SQUARE = [[121.40, 31.20], [121.41, 31.20], [121.41, 31.21], [121.40, 31.21], [121.40, 31.20]]
POLYGON_SITE = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
                "properties": {}}


@pytest.fixture()
def api(registry: Registry, store: EmbeddedStore) -> Iterator[tuple[TestClient, Registry]]:
    app = create_app(registry, store, now_ms=lambda: WALL_MS,
                     options=ApiOptions(max_body_bytes=64 * 1024))
    with TestClient(app, headers=auth(make_token(registry, "root", Role.ADMIN))) as client:
        yield client, registry


def test_walkthrough_lender_loan_asset_with_site_and_device(
        api: tuple[TestClient, Registry]) -> None:
    client, registry = api
    assert client.post("/api/lenders", json={"id": "acme-bank", "name": "Acme Bank"}
                       ).status_code == 201
    assert client.post("/api/users", json={"id": "alice", "name": "Alice", "role": "lender",
                                           "lender_id": "acme-bank"}).status_code == 201
    alice = client.post("/api/users/alice/tokens", json={"name": "laptop"}).json()["token"]
    as_alice = auth(alice)
    loan = client.post("/api/loans", headers=as_alice, json={
        "id": "loan-7", "lender_id": "acme-bank", "borrower": "Quarry Ltd", "principal": 2.5e6,
        "currency": "EUR"})
    assert loan.status_code == 201 and loan.json()["warning_level"] == "normal"
    asset = client.post("/api/assets", headers=as_alice, json={
        "id": "excavator-3", "loan_id": "loan-7", "kind": "construction", "name": "CAT 336",
        "pledge": {"site": POLYGON_SITE, "planned_downtime": [
            {"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z",
             "reason": "holidays"}]}})
    assert asset.status_code == 201, asset.text
    pledge = client.get("/api/assets/excavator-3/pledge", headers=as_alice).json()
    assert pledge["site"]["geometry"] == {"type": "Polygon", "coordinates": [SQUARE]}
    anchor = pledge["site"]["properties"]["anchor"]
    assert 121.40 < anchor[0] < 121.41 and 31.20 < anchor[1] < 31.21
    assert pledge["planned_downtime"][0]["reason"] == "holidays"
    # Alice is a lender: devices are a provisioner's job.
    assert client.post("/api/devices", headers=as_alice,
                       json={"id": "trk-77", "asset_id": "excavator-3"}).status_code == 403
    device = client.post("/api/devices", json={"id": "trk-77", "asset_id": "excavator-3"})
    assert device.status_code == 201
    assert device.json()["mqtt_username"] == "trk-77" and len(device.json()["mqtt_password"]) > 20
    assert device.json()["mqtt_password"] not in client.get("/api/devices/trk-77").text
    audit = client.get("/api/audit", headers=as_alice).json()["data"]
    actions = [(e["actor"], e["action"]) for e in reversed(audit)]
    assert actions == [("root", "lender.create"), ("root", "user.create"),
                       ("root", "token.create"), ("alice", "loan.create"),
                       ("alice", "asset.create"), ("root", "device.create")]
    assert all(abs(datetime.fromisoformat(e["at"]) - datetime.now(UTC)) < timedelta(minutes=1)
               for e in audit)


def test_alert_actions_are_kept_with_who_and_when(api: tuple[TestClient, Registry]) -> None:
    client, _ = api
    done = client.post("/api/alerts/2/actions", json={"action": "acknowledge",
                                                      "note": "driver called"})
    assert done.status_code == 201
    history = client.get("/api/alerts/2/history").json()
    assert [(h["actor"], h["action"], h["note"]) for h in history] == [
        ("root", "acknowledge", "driver called")]
    [entry] = client.get("/api/audit?action=alert.acknowledge").json()["data"]
    assert (entry["target_id"], entry["lender_id"]) == ("2", "l1")
    assert client.post("/api/alerts/2/actions", json={"action": "delete"}).status_code == 422


def test_an_alert_is_snoozed_until_a_time_with_its_zone(
        api: tuple[TestClient, Registry]) -> None:
    client, _ = api
    until = (datetime.now(UTC) + timedelta(hours=4)).replace(microsecond=0)
    done = client.post("/api/alerts/2/actions", json={
        "action": "snooze", "note": "site visit", "until": until.isoformat()})
    assert done.status_code == 201, done.text
    assert datetime.fromisoformat(done.json()["until"]) == until
    [entry] = client.get("/api/alerts/2/history").json()
    assert (entry["action"], datetime.fromisoformat(entry["until"])) == ("snooze", until)
    [audit] = client.get("/api/audit?action=alert.snooze").json()["data"]
    assert datetime.fromisoformat(audit["detail"]["until"]) == until
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for body, why in [({"action": "snooze"}, "needs until"),
                      ({"action": "snooze", "until": past}, "in the future"),
                      ({"action": "snooze", "until": "2099-01-01T00:00:00"}, "its zone"),
                      ({"action": "acknowledge", "until": until.isoformat()}, "for snooze")]:
        refused = client.post("/api/alerts/2/actions", json=body)
        assert refused.status_code == 422 and why in refused.text, (body, refused.text)
    assert len(client.get("/api/alerts/2/history").json()) == 1  # nothing refused was kept


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:8080/hook", "loopback"), ("https://localhost/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"), ("https://192.168.0.9/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"), ("https://[::1]/x", "loopback"),
    ("https://[::ffff:10.0.0.1]/x", "private"), ("https://0.0.0.0/x", "private"),
    ("ftp://example.com/x", "https://"), ("https://user:pw@example.com/x", "credentials"),
    ("not a url", "https://")])
def test_webhook_url_to_a_private_target_is_refused(
        api: tuple[TestClient, Registry], url: str, why: str) -> None:
    client, registry = api
    response = client.put("/api/lenders/l2/webhook", json={"url": url})
    assert response.status_code == 422 and why in response.json()["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    with registry.session() as session:
        lender = session.get(Lender, "l2")
        assert lender is not None and lender.webhook_url is None


def test_webhook_secret_is_generated_once_and_rotates_with_overlap(
        registry: Registry, store: EmbeddedStore) -> None:
    app = create_app(registry, store, options=ApiOptions(webhook_allow_private=True))
    with TestClient(app, headers=auth(make_token(registry, "bo", Role.LENDER, "l2"))) as client:
        first = client.put("/api/lenders/l2/webhook", json={"url": "http://127.0.0.1:9/h"})
        secret = first.json()["secret"]
        assert secret.startswith("whsec_") and first.json()["rotating_until"] is None
        again = client.put("/api/lenders/l2/webhook", json={"url": "http://127.0.0.1:9/h2"})
        assert again.json()["secret"] is None and again.json()["url"].endswith("/h2")
        rotated = client.post("/api/lenders/l2/webhook/rotate").json()
        assert rotated["secret"] != secret
        until = datetime.fromisoformat(rotated["rotating_until"])
        assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
        with registry.session() as session:
            lender = session.get(Lender, "l2")
            assert lender is not None
            assert (lender.webhook_secret, lender.webhook_previous_secret) == (
                rotated["secret"], secret)
        assert secret not in client.get("/api/lenders/l2/webhook").text
        assert client.delete("/api/lenders/l2/webhook").status_code == 204
        assert client.get("/api/lenders/l2/webhook").json()["url"] is None


def test_a_webhook_subscribes_to_the_event_types_it_names(
        registry: Registry, store: EmbeddedStore) -> None:
    app = create_app(registry, store, options=ApiOptions(webhook_allow_private=True))
    with TestClient(app, headers=auth(make_token(registry, "bo", Role.LENDER, "l2"))) as client:
        url = "http://127.0.0.1:9/h"
        assert client.put("/api/lenders/l2/webhook", json={"url": url}).json()["events"] is None
        chosen = ["alert.opened", "alert.resolved", "loan.warning_changed"]
        done = client.put("/api/lenders/l2/webhook", json={"url": url, "events": chosen})
        assert done.status_code == 200 and done.json()["events"] == chosen
        assert client.get("/api/lenders/l2/webhook").json()["events"] == chosen
        for bad in (["alert.exploded"], [], ["alert.opened", "alert.opened"]):
            refused = client.put("/api/lenders/l2/webhook", json={"url": url, "events": bad})
            assert refused.status_code == 422, bad
        assert client.get("/api/lenders/l2/webhook").json()["events"] == chosen  # unchanged
        # Naming none again subscribes to all.
        assert client.put("/api/lenders/l2/webhook", json={"url": url}).json()["events"] is None


def _asset(site: Any) -> dict[str, Any]:
    return {"id": "a-bad", "loan_id": "n1", "kind": "truck", "name": "X",
            "pledge": {"site": site}}


@pytest.mark.parametrize(("site", "why"), [
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.4, 31.2]}},
     "radius_m"),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [190, 31.2]},
      "properties": {"radius_m": 5}}, "less than or equal to 180"),
    ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [SQUARE[:-1]]}},
     "closed"),
    ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}, "not valid"),
    ({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
     "geometry"),
    ({"type": "FeatureCollection", "features": []}, "site"),
    ("POLYGON((0 0, 1 1))", "site"),
])
def test_malformed_geojson_is_refused_clearly(api: tuple[TestClient, Registry], site: Any,
                                              why: str) -> None:
    client, _ = api
    response = client.post("/api/assets", json=_asset(site))
    assert response.status_code == 422, response.text
    assert why in response.text
    assert client.get("/api/assets/a-bad").status_code == 404


def test_oversized_geojson_is_refused_before_parsing(api: tuple[TestClient, Registry]) -> None:
    client, _ = api
    ring = [[121.0 + i * 1e-5, 31.0] for i in range(6000)]
    site = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    response = client.post("/api/assets", json=_asset(site))  # ~150 KB > the 64 KiB limit
    assert response.status_code == 413
    assert response.json()["detail"] == "request body is larger than 65536 bytes"


def test_polygon_with_too_many_vertices_is_refused(registry: Registry,
                                                   store: EmbeddedStore) -> None:
    ring = [[121.0 + i * 1e-6, 31.0 + (i % 2) * 1e-6] for i in range(10_001)]
    site = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    app = create_app(registry, store, options=ApiOptions(max_body_bytes=10 << 20))
    with TestClient(app, headers=auth(make_token(registry, "root", Role.ADMIN))) as client:
        response = client.post("/api/assets", json=_asset(site))
    assert response.status_code == 422 and "at most 10000" in response.text


def test_lists_page_and_filter(api: tuple[TestClient, Registry]) -> None:
    client, _ = api
    first = client.get("/api/lenders?limit=1").json()
    second = client.get("/api/lenders?limit=1&offset=1").json()
    assert first["count"] == second["count"] == 2
    assert [x["id"] for x in first["data"] + second["data"]] == ["l1", "l2"]
    assert client.get("/api/devices?asset_id=truck-1").json()["data"][0]["id"] == "trk-1"
    assert client.get("/api/lenders?offset=10000001").status_code == 422


@pytest.mark.parametrize(("method", "url", "body", "status", "why"), [
    ("POST", "/api/lenders", {"id": "l1", "name": "Again"}, 409, "lender 'l1' exists"),
    ("POST", "/api/loans", {"id": "n1", "lender_id": "l1", "borrower": "X"}, 409, "exists"),
    ("POST", "/api/devices", {"id": "trk-1", "asset_id": "ship-1"}, 409, "device 'trk-1'"),
    ("PATCH", "/api/lenders/l1", {"name": None}, 422, "name cannot be null"),
    ("PATCH", "/api/loans/n1", {"borrower": None}, 422, "borrower cannot be null"),
    ("PATCH", "/api/assets/truck-1", {"cadence_s": None}, 422, "cadence_s cannot be null"),
    ("PATCH", "/api/loans/n1", {"colour": "red"}, 422, "colour"),
    ("POST", "/api/users", {"id": "u", "name": "U", "role": "lender"}, 422, "needs a lender_id"),
])
def test_conflicts_and_bad_changes_are_refused_and_change_nothing(
        api: tuple[TestClient, Registry], method: str, url: str, body: dict[str, Any],
        status: int, why: str) -> None:
    client, registry = api
    before = export_fleet(registry)
    response = client.request(method, url, json=body)
    assert response.status_code == status and why in response.json()["detail"]
    assert export_fleet(registry) == before


def test_a_disabled_user_is_locked_out(api: tuple[TestClient, Registry]) -> None:
    client, registry = api
    ana = auth(make_token(registry, "ana", Role.LENDER, "l1"))
    assert client.get("/api/loans", headers=ana).status_code == 200
    assert client.delete("/api/users/ana").status_code == 204
    assert client.get("/api/loans", headers=ana).status_code == 401
    assert client.get("/api/users/ana").json()["disabled"] is True
    assert client.delete("/api/users/root").status_code == 409
