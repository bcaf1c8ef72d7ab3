"""The registry API's writes, scoping and audit on both databases we support."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from dashboards.app import create_app
from ingest.store.embedded import EmbeddedStore
from registry import Registry
from registry.access import Role
from tests.dashboards.conftest import auth, fill_registry, make_token
from tests.dashboards.test_registry_api import POLYGON_SITE


def test_writes_scope_and_audit(registry_url: str, tmp_path: Path) -> None:
    registry = Registry(registry_url)
    fill_registry(registry)
    admin = auth(make_token(registry, "root", Role.ADMIN))
    bob = auth(make_token(registry, "bob", Role.LENDER, "l2"))
    with EmbeddedStore(tmp_path / "t.db") as store, TestClient(create_app(registry, store)) as c:
        made = c.post("/api/assets", headers=admin, json={
            "id": "x-1", "loan_id": "n1", "kind": "plant", "name": "Press",
            "pledge": {"site": POLYGON_SITE}})
        assert made.status_code == 201, made.text
        assert c.get("/api/assets/x-1/pledge", headers=bob).status_code == 404
        assert c.patch("/api/loans/n2", headers=bob, json={"principal": 5.0}).json()[
            "principal"] == 5.0
        assert c.get("/api/loans?offset=0&limit=5", headers=bob).json()["count"] == 1
        actions = [e["action"] for e in c.get("/api/audit", headers=admin).json()["data"]]
        assert actions[:2] == ["loan.update", "asset.create"]
    registry.close()
