"""What the registry's security and migrations cost, each beside its baseline.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_registry_api.py [--requests 400] [--runs 5]``

- Opening a fresh SQLite registry: Alembic ``upgrade head`` (what ``Registry``
  does) beside ``metadata.create_all`` (what the spine did).
- API requests in process (Starlette's TestClient, so no network): ``/healthz``
  (no token, one trivial query) as the floor; ``GET /api/loans/n1`` as an admin
  and as a lender (token lookup + SHA-256 + scope filter); a request with a
  wrong token (401); and the same loan read with authentication replaced by a
  fixed admin, to isolate what the token check costs.

- The token check alone (``verify_token``: primary-key lookup, SHA-256,
  constant-time compare, user lookup) beside reading the same user row.

Medians over ``--runs``; per-request times in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from dashboards.app import create_app
from dashboards.auth import Principal, get_principal
from ingest.store.embedded import EmbeddedStore
from registry import Registry
from registry.access import Role, User
from registry.models import Base
from registry.tokens import verify_token
from tests.dashboards.conftest import auth, fill_registry, fill_store, make_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _open_with_alembic(root: Path, n: int) -> None:
    Registry(f"sqlite:///{root}/a{n}.db").close()


def _open_with_create_all(root: Path, n: int) -> None:
    engine = create_engine(f"sqlite:///{root}/c{n}.db")
    Base.metadata.create_all(engine)
    engine.dispose()


def _time_opens(fn: Callable[[Path, int], None], count: int = 10) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for n in range(count):
            fn(Path(tmp), n)
        return (time.perf_counter() - start) / count * 1e3


def _time_requests(client: TestClient, url: str, headers: dict[str, str], count: int,
                   status: int) -> float:
    assert client.get(url, headers=headers).status_code == status
    start = time.perf_counter()
    for _ in range(count):
        client.get(url, headers=headers)
    return (time.perf_counter() - start) / count * 1e6


def _time_session(registry: Registry, fn: Callable[[Session], object], count: int) -> float:
    with registry.session() as session:
        start = time.perf_counter()
        for _ in range(count):
            fn(session)
            session.expire_all()  # each call reads the rows again, as a request would
        return (time.perf_counter() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(f"sqlite:///{tmp}/r.db")
        fill_registry(registry)
        admin = auth(make_token(registry, "root", Role.ADMIN))
        lender = auth(make_token(registry, "ana", Role.LENDER, "l1"))
        store = EmbeddedStore(Path(tmp) / "t.db")
        fill_store(store)
        app = create_app(registry, store)
        bypass = create_app(registry, store)
        bypass.dependency_overrides[get_principal] = lambda: Principal(
            "root", Role.ADMIN, None, None)
        cases: list[tuple[str, TestClient, str, dict[str, str], int]] = []
        with TestClient(app) as client, TestClient(bypass) as open_client:
            cases = [
                ("GET /healthz (floor)", client, "/healthz", {}, 200),
                ("GET /api/loans/n1, auth bypassed", open_client, "/api/loans/n1", {}, 200),
                ("GET /api/loans/n1 as admin", client, "/api/loans/n1", admin, 200),
                ("GET /api/loans/n1 as lender", client, "/api/loans/n1", lender, 200),
                ("GET /api/loans/n1, wrong token", client, "/api/loans/n1",
                 auth("cw_0000_" + "x" * 40), 401),
            ]
            token = admin["Authorization"].removeprefix("Bearer ")
            now = datetime.now(UTC)
            for _ in range(args.runs):
                results.setdefault("open registry: alembic upgrade (ms)", []).append(
                    _time_opens(_open_with_alembic))
                results.setdefault("open registry: create_all (ms)", []).append(
                    _time_opens(_open_with_create_all))
                results.setdefault("verify_token alone (us)", []).append(_time_session(
                    registry, lambda s: verify_token(s, token, now), args.requests * 5))
                results.setdefault("read the user row alone (us)", []).append(_time_session(
                    registry, lambda s: s.get(User, "root"), args.requests * 5))
                for name, c, url, headers, status in cases:
                    results.setdefault(f"{name} (us)", []).append(
                        _time_requests(c, url, headers, args.requests, status))
        store.close()
        registry.close()
    print(f"| measurement | median of {args.runs} | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):,.1f} | {min(values):,.1f} | "
              f"{max(values):,.1f} |")


if __name__ == "__main__":
    main()
