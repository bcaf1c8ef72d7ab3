from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from dashboards.app import create_app
from ingest.store.embedded import EmbeddedStore
from registry import Registry
from registry.access import Role
from tests.dashboards.conftest import SECRET, auth, make_token


def test_index_lists_loans_alerts_and_assets(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<meta http-equiv="refresh" content="10">' in html
    assert "Acme Haulage" in html and 'level-critical">critical' in html
    assert "case opened" in html and "2025-11-28 11:00:00" in html  # open alert, since
    assert "left the yard" not in html  # resolved alerts are not on the page
    assert "31.20000, 121.40000" in html  # truck-1's last position
    assert "MV Blue" in html and "unknown" in html  # ship-1 has no position


def test_everything_is_escaped(client: TestClient) -> None:
    html = client.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "idle &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Truck &lt;1&gt;" in html and "tamper on truck-1 &amp; more" in html


def test_no_external_assets_and_no_secrets(client: TestClient) -> None:
    html = client.get("/").text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert SECRET not in html


def test_page_survives_a_store_outage(registry: Registry, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "gone.db")
    store.close()
    token = make_token(registry, "root", Role.ADMIN)
    with TestClient(create_app(registry, store), headers=auth(token)) as client:
        response = client.get("/")
        api = client.get("/api/assets")
    assert response.status_code == 200
    assert "telemetry store unavailable" in response.text and "Acme Haulage" in response.text
    assert api.status_code in (502, 503)  # closed: refused, not down


def test_empty_registry_renders(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path}/empty.db")
    try:
        token = make_token(registry, "root", Role.ADMIN)
        with EmbeddedStore(":memory:") as store, TestClient(create_app(registry, store)) as client:
            assert client.get("/", follow_redirects=False).headers["location"] == "/login"
            assert client.post("/login", data={"token": "cw_nope_" + "x" * 30}).status_code == 401
            landed = client.post("/login", data={"token": token})  # sets the cookie, redirects
            assert landed.url.path == "/" and "HttpOnly" in landed.history[0].headers["set-cookie"]
            html = client.get("/").text
    finally:
        registry.close()
    assert "No active loans in the registry." in html and "No open alerts." in html
