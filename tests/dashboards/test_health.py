from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dashboards.app import create_app
from ingest.store.embedded import EmbeddedStore
from registry import Registry


def test_healthy(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "registry": "ok", "store": "ok"}


@pytest.fixture()
def closed_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "gone.db")
    store.close()
    yield store


def test_store_down_is_503_naming_the_store(registry: Registry,
                                            closed_store: EmbeddedStore) -> None:
    with TestClient(create_app(registry, closed_store)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "registry": "ok", "store": "unreachable"}


def test_registry_down_is_503_naming_the_registry(tmp_path: Path, store: EmbeddedStore) -> None:
    (tmp_path / "not-a-dir").write_text("")
    registry = Registry(f"sqlite:///{tmp_path}/not-a-dir/r.db", create=False)
    try:
        with TestClient(create_app(registry, store)) as client:
            response = client.get("/healthz")
            # A token must be looked up, so the registry's absence shows.
            api = client.get("/api/loans", headers={"Authorization": "Bearer cw_abc_" + "x" * 40})
    finally:
        registry.close()
    assert response.status_code == 503
    assert response.json()["registry"] == "unreachable"
    assert response.json()["store"] == "ok"
    assert api.status_code == 503 and "registry unavailable" in api.json()["detail"]


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "collateral-watch"
    assert "/api/assets/{asset_id}/telemetry" in schema["paths"]
