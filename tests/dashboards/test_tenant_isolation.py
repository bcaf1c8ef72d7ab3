"""Every API route, tried by another lender: it sees none of lender l1's data and changes
nothing of it. Object routes answer 404 (as for a missing id, so existence does not
leak); lists leave l1's rows out; routes for other roles answer 403 whatever the id.

The route table is read from the app, so a new route without a case here fails.
Each case also runs as l1's own user, which must succeed: the 404 is the scope's
doing, not a malformed request's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboards.app import create_app
from dashboards.deps import ApiOptions
from ingest.store.embedded import EmbeddedStore
from registry import Registry, export_fleet
from registry.access import ApiToken, Borrower, Role
from tests.dashboards.conftest import WALL_MS, auth, make_token

L1_IDS = ('"l1"', '"n1"', '"truck-1"', '"plant-1"', '"b1"', '"trk-1"', '"ana"')
SITE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.4, 31.2]},
        "properties": {"radius_m": 400}}
PLEDGE = {"site": SITE, "planned_downtime": [
    {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "reason": "holiday"}]}


@dataclass(frozen=True)
class Case:
    url: str
    body: dict[str, Any] | None = None
    intruder: str = "lender"  # whose token tries it: "lender" or "provisioner" of l2
    expect: int | str = 404  # status for the intruder, or "list" (200 without l1's rows)
    owner: str = "lender"  # who may do it on l1's data: "lender", "provisioner", "admin"


CASES: dict[str, Case] = {
    "GET /api/lenders": Case("/api/lenders", expect="list"),
    "POST /api/lenders": Case("/api/lenders", {"id": "l9", "name": "New"}, expect=403,
                              owner="admin"),
    "GET /api/lenders/{lender_id}": Case("/api/lenders/l1"),
    "PATCH /api/lenders/{lender_id}": Case("/api/lenders/l1", {"name": "Mine now"}, expect=403,
                                           owner="admin"),
    "GET /api/lenders/{lender_id}/webhook": Case("/api/lenders/l1/webhook"),
    "PUT /api/lenders/{lender_id}/webhook": Case("/api/lenders/l1/webhook",
                                                 {"url": "http://127.0.0.1:9/steal"}),
    "POST /api/lenders/{lender_id}/webhook/rotate": Case("/api/lenders/l1/webhook/rotate", {}),
    "DELETE /api/lenders/{lender_id}/webhook": Case("/api/lenders/l1/webhook"),
    "GET /api/lenders/{lender_id}/webhook/deliveries": Case(
        "/api/lenders/l1/webhook/deliveries"),
    "POST /api/lenders/{lender_id}/webhook/redeliver": Case(
        "/api/lenders/l1/webhook/redeliver", {"since": "2026-01-01T00:00:00Z"}),
    "GET /api/borrowers": Case("/api/borrowers", expect="list"),
    "POST /api/borrowers": Case("/api/borrowers", {"id": "b9", "lender_id": "l1", "name": "X"}),
    "GET /api/borrowers/{borrower_id}": Case("/api/borrowers/b1"),
    "PATCH /api/borrowers/{borrower_id}": Case("/api/borrowers/b1", {"name": "Renamed"}),
    "GET /api/loans": Case("/api/loans", expect="list"),
    "POST /api/loans": Case("/api/loans", {"id": "n9", "lender_id": "l1", "borrower": "X"}),
    "GET /api/loans/{loan_id}": Case("/api/loans/n1"),
    "PATCH /api/loans/{loan_id}": Case("/api/loans/n1", {"principal": 1.0}),
    "GET /api/assets": Case("/api/assets", expect="list"),
    "POST /api/assets": Case("/api/assets", {"id": "a9", "loan_id": "n1", "kind": "truck",
                                             "name": "X", "pledge": PLEDGE}),
    "GET /api/assets/{asset_id}": Case("/api/assets/truck-1"),
    "PATCH /api/assets/{asset_id}": Case("/api/assets/truck-1", {"name": "Mine"}),
    "GET /api/assets/{asset_id}/telemetry": Case("/api/assets/truck-1/telemetry"),
    "GET /api/assets/{asset_id}/pledge": Case("/api/assets/truck-1/pledge"),
    "PUT /api/assets/{asset_id}/pledge": Case("/api/assets/truck-1/pledge", PLEDGE),
    "GET /api/devices": Case("/api/devices", expect="list"),
    "POST /api/devices": Case("/api/devices", {"id": "trk-9", "asset_id": "truck-1"},
                              intruder="provisioner", owner="provisioner"),
    "GET /api/devices/{device_id}": Case("/api/devices/trk-1"),
    "POST /api/devices/{device_id}/credentials": Case(
        "/api/devices/trk-1/credentials", {}, intruder="provisioner", owner="provisioner"),
    "DELETE /api/devices/{device_id}/credentials": Case(
        "/api/devices/trk-1/credentials", intruder="provisioner", owner="provisioner"),
    "GET /api/alerts": Case("/api/alerts", expect="list"),
    "GET /api/alerts/export": Case("/api/alerts/export", expect="list"),
    "GET /api/alerts/{alert_id}": Case("/api/alerts/1"),
    "GET /api/alerts/{alert_id}/history": Case("/api/alerts/1/history"),
    "POST /api/alerts/{alert_id}/actions": Case("/api/alerts/1/actions",
                                                {"action": "acknowledge", "note": "mine"}),
    "GET /api/deadletters": Case("/api/deadletters", expect=403, owner="admin"),
    # Nothing watched here: each lender's count and ids are of its own assets only.
    "GET /api/monitor/coverage": Case("/api/monitor/coverage", expect="list"),
    "GET /api/users": Case("/api/users", expect=403, owner="admin"),
    "POST /api/users": Case("/api/users", {"id": "u9", "name": "U", "role": "lender",
                                           "lender_id": "l1"}, expect=403, owner="admin"),
    "GET /api/users/{user_id}": Case("/api/users/ana"),
    "DELETE /api/users/{user_id}": Case("/api/users/ana", expect=403, owner="admin"),
    "POST /api/users/{user_id}/tokens": Case("/api/users/ana/tokens", {"name": "stolen"}),
    "DELETE /api/users/{user_id}/tokens/{token_id}": Case("/api/users/ana/tokens/{ana_token}"),
    "GET /api/audit": Case("/api/audit", expect="list"),
}
PUBLIC = {"GET /healthz", "GET /healthz/monitor"}


def _routes(app: Any) -> set[str]:
    # The OpenAPI document lists every route the app serves (the HTML login page and
    # the page itself are left out of it on purpose, and need no token or a cookie).
    return {f"{method.upper()} {path}" for path, operations in app.openapi()["paths"].items()
            for method in operations}


@pytest.fixture()
def world(registry: Registry, store: EmbeddedStore) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with registry.session() as session:
        session.add(Borrower(id="b1", lender_id="l1", name="Acme Haulage"))
    tokens = {
        "lender": make_token(registry, "ana", Role.LENDER, "l1"),
        "provisioner": make_token(registry, "pete", Role.PROVISIONER, "l1"),
        "admin": make_token(registry, "root", Role.ADMIN),
        "intruder-lender": make_token(registry, "bob", Role.LENDER, "l2"),
        "intruder-provisioner": make_token(registry, "eve", Role.PROVISIONER, "l2"),
    }
    with registry.session() as session:
        tokens["ana_token"] = session.query(ApiToken).filter_by(user_id="ana").one().id
    # l1 has a webhook to rotate and delete; the owner's PUT targets a local receiver.
    app = create_app(registry, store, now_ms=lambda: WALL_MS,
                     options=ApiOptions(webhook_allow_private=True))
    with TestClient(app) as client:
        client.put("/api/lenders/l1/webhook", json={"url": "http://127.0.0.1:9/hook"},
                   headers=auth(tokens["admin"])).raise_for_status()
        yield client, tokens


def test_every_api_route_has_an_isolation_case(registry: Registry,
                                               store: EmbeddedStore) -> None:
    routes = _routes(create_app(registry, store))
    assert routes - PUBLIC == set(CASES), "add a case for each new route"


def _send(client: TestClient, case: Case, token: str, ana_token: str) -> Any:
    method = next(k for k, v in CASES.items() if v is case).split()[0]
    url = case.url.replace("{ana_token}", ana_token)
    return client.request(method, url, json=case.body, headers=auth(token))


@pytest.mark.parametrize("route", sorted(CASES))
def test_another_lender_neither_sees_nor_changes(
        route: str, world: tuple[TestClient, dict[str, str]], registry: Registry) -> None:
    client, tokens = world
    case = CASES[route]
    before = export_fleet(registry)
    response = _send(client, case, tokens[f"intruder-{case.intruder}"], tokens["ana_token"])
    if case.expect == "list":
        assert response.status_code == 200
        leaked = [x for x in L1_IDS if x in response.text]
        assert leaked == [], f"{route} shows l1's {leaked}"
    else:
        assert response.status_code == case.expect, response.text
        assert response.headers["content-type"] == "application/problem+json"
        if case.expect == 404:
            assert response.json()["detail"].startswith("no ")
    assert export_fleet(registry) == before
    owner = _send(client, case, tokens[case.owner], tokens["ana_token"])
    assert owner.status_code < 300, f"{route} as owner: {owner.status_code} {owner.text}"
    if case.expect == "list" and route != "GET /api/audit":
        assert any(x in owner.text for x in L1_IDS)


@pytest.mark.parametrize(("mine", "missing"), [
    ("/api/loans/n1", "/api/loans/zz"), ("/api/assets/truck-1/pledge", "/api/assets/zz/pledge"),
    ("/api/alerts/1/history", "/api/alerts/999/history"),
    ("/api/devices/trk-1", "/api/devices/zz")])
def test_another_lenders_row_looks_exactly_like_a_missing_one(
        world: tuple[TestClient, dict[str, str]], mine: str, missing: str) -> None:
    client, tokens = world
    headers = auth(tokens["intruder-lender"])
    theirs, nothing = client.get(mine, headers=headers), client.get(missing, headers=headers)
    key = mine.split("/")[3]
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.json() == {**nothing.json(), "detail": nothing.json()["detail"].replace(
        "zz" if "999" not in missing else "999", key), "instance": mine}


def test_intruders_changed_nothing_and_left_no_audit_entries(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    for case in CASES.values():
        _send(client, case, tokens[f"intruder-{case.intruder}"], tokens["ana_token"])
    audit = client.get("/api/audit?limit=1000", headers=auth(tokens["admin"])).json()["data"]
    # The fleet import and the fixture's webhook PUT; nothing by bob or eve.
    assert {e["actor"] for e in audit} == {"import", "root"}


def test_analyst_sees_every_lender_of_its_organisation(registry: Registry,
                                                       store: EmbeddedStore) -> None:
    from registry.models import Lender

    with registry.session() as session:
        session.add(Lender(id="l3", name="Harbour Leasing", organisation="harbour"))
        lender = session.get(Lender, "l1")
        assert lender is not None
        lender.organisation = "harbour"
    token = make_token(registry, "ann", Role.ANALYST, "l1")
    with TestClient(create_app(registry, store), headers=auth(token)) as client:
        ids = [x["id"] for x in client.get("/api/lenders").json()["data"]]
        assert ids == ["l1", "l3"]
        assert client.get("/api/loans/n2").status_code == 404
        assert client.get("/api/loans/n1").status_code == 200
        assert client.post("/api/loans", json={"id": "n7", "lender_id": "l1",
                                               "borrower": "X"}).status_code == 403


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer cw_abc_" + "x" * 40])
def test_no_valid_token_is_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {"Authorization": ""}
    response = client.get("/api/loans", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
