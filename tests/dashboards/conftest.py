"""A small registry and telemetry store for the dashboard tests, and a client over them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dashboards.app import create_app
from ingest.store import Point
from ingest.store.embedded import EmbeddedStore
from registry import Registry, import_fleet
from registry.access import Role, User
from registry.models import Alert, DeadLetter, Loan, WarningChange
from registry.tokens import mint_token

with warnings.catch_warnings():
    # Starlette 1.x warns once, on import, that its TestClient prefers httpx2 over
    # the httpx we pin. Drop this when httpx2 joins the dev dependencies.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

T0 = 1_764_331_200_000  # 2025-11-28T12:00:00Z, the newest reading of truck-1
MIN = 60_000
HOUR = 60 * MIN
WALL_MS = T0 + 30 * 24 * HOUR  # the wall clock is far ahead of device time
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOOK_URL = "https://hooks.harbour.test/cw?token=very-private"


def fleet() -> dict[str, Any]:
    site = {"lat": 31.2, "lon": 121.4, "radius_m": 500}
    return {
        "version": 1,
        "lenders": [
            {"id": "l1", "name": "Harbour Bank", "webhook_url": HOOK_URL, "webhook_secret": SECRET},
            {"id": "l2", "name": "Inland Bank"},
        ],
        "loans": [
            {"id": "n1", "lender_id": "l1", "borrower": "Acme Haulage", "principal": 1e6,
             "currency": "EUR"},
            {"id": "n2", "lender_id": "l2", "borrower": "Blue Sea"},
        ],
        "assets": [
            {"id": "truck-1", "kind": "truck", "name": "Truck <1>", "loan_id": "n1", "site": site,
             "device_id": "trk-1"},
            {"id": "plant-1", "kind": "plant", "name": "Crusher", "loan_id": "n1", "site": site,
             "device_id": "plt-1"},
            {"id": "ship-1", "kind": "ship", "name": "MV Blue", "loan_id": "n2", "site": site},
        ],
    }


def add_alert(registry: Registry, asset_id: str, kind: str, opened_ms: int, *,
              resolved_ms: int | None = None, reason: str = "") -> None:
    with registry.session() as session:
        session.add(Alert(asset_id=asset_id, kind=kind,
                          status="open" if resolved_ms is None else "resolved",
                          opened_at_ms=opened_ms, updated_at_ms=resolved_ms or opened_ms,
                          resolved_at_ms=resolved_ms, reason=reason, details={"n": 1}))


def fill_registry(registry: Registry) -> None:
    import_fleet(registry, fleet())
    add_alert(registry, "truck-1", "geofence_exit", T0 - 3 * HOUR, resolved_ms=T0 - 2 * HOUR,
              reason="left the yard")
    add_alert(registry, "truck-1", "tamper", T0 - HOUR, reason="case opened")
    add_alert(registry, "plant-1", "idle", T0 - 30 * MIN,
              reason="idle <script>alert(1)</script>")
    with registry.session() as session:
        loan = session.get(Loan, "n1")
        assert loan is not None
        loan.warning_level, loan.warning_reason = "critical", "tamper on truck-1 & more"
        loan.warning_changed_ms = T0 - HOUR
        session.add_all([
            WarningChange(loan_id="n1", level="watch", previous="normal", reason="idle",
                          at_ms=T0 - 2 * HOUR),
            WarningChange(loan_id="n1", level="critical", previous="watch", reason="tamper",
                          at_ms=T0 - HOUR),
        ])
        received = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)
        session.add_all([
            DeadLetter(received_at=received, topic="telemetry/x", device_id=None,
                       reason="not_json", detail="Expecting value", payload=b"\x00\xffhello"),
            DeadLetter(received_at=received.replace(minute=5), topic="telemetry/trk-9",
                       device_id="trk-9", reason="unknown_device", detail="no such device",
                       payload=b"<b>" + b"x" * 300),
            DeadLetter(received_at=received.replace(minute=1), topic="telemetry/y",
                       device_id=None, reason="not_json", detail="", payload=b"{"),
        ])


def fill_store(store: EmbeddedStore) -> None:
    # truck-1: every 5 min for the 2 h up to T0, driving north; plant-1: one point, no fix.
    truck = [Point("truck-1", "trk-1", T0 - n * 5 * MIN, 1000 - n,
                   {"lat": 31.2 - n * 0.001, "lon": 121.4, "speed_kmh": float(n),
                    "ignition": n % 2 == 0})
             for n in range(25)]
    store.write([*truck, Point("plant-1", "plt-1", T0 - HOUR, 1, {"temp_c": 40.0})])


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(f"sqlite:///{tmp_path}/r.db")
    fill_registry(reg)
    yield reg
    reg.close()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(tmp_path / "telemetry.db") as telemetry:
        fill_store(telemetry)
        yield telemetry


def make_token(registry: Registry, user_id: str, role: Role,
               lender_id: str | None = None) -> str:
    """A user (made if missing) and a fresh API token for it."""
    with registry.session() as session:
        if session.get(User, user_id) is None:
            session.add(User(id=user_id, name=user_id, role=role.value, lender_id=lender_id,
                             created_at=datetime.now(UTC)))
            session.flush()
        _, text = mint_token(session, user_id, "test")
    return text


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def client(registry: Registry, store: EmbeddedStore) -> Iterator[TestClient]:
    """A client with an admin's token: the existing dashboard tests see everything."""
    token = make_token(registry, "root", Role.ADMIN)
    with TestClient(create_app(registry, store, now_ms=lambda: WALL_MS),
                    headers=auth(token)) as test_client:
        yield test_client


@pytest.fixture()
def app_tokens(registry: Registry,
               store: EmbeddedStore) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client without a token, and tokens for l1's lender ana, analyst ann and
    provisioner pete and l2's lender bob: the page tests log in as each."""
    tokens = {"ana": make_token(registry, "ana", Role.LENDER, "l1"),
              "ann": make_token(registry, "ann", Role.ANALYST, "l1"),
              "pete": make_token(registry, "pete", Role.PROVISIONER, "l1"),
              "bob": make_token(registry, "bob", Role.LENDER, "l2")}
    with TestClient(create_app(registry, store, now_ms=lambda: WALL_MS)) as client:
        yield client, tokens
