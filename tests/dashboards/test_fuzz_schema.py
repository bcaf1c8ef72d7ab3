"""The API fuzzed from its own OpenAPI document (schemathesis): no input makes it fail
with a 5xx, whoever asks. Every operation gets generated valid and invalid requests,
as an admin (deepest reach: every write) and as a lender.

The app is built when the module loads: schemathesis reads its schema to make one
test per operation, and its fixture-based loader does not work with pytest 9.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from dashboards.app import create_app
from dashboards.deps import ApiOptions
from ingest.store.embedded import EmbeddedStore
from monitor.workers import record_beat
from registry import Registry
from registry.access import Role
from tests.dashboards.conftest import WALL_MS, auth, fill_registry, fill_store, make_token

_ROOT = Path(tempfile.mkdtemp(prefix="cw-fuzz-"))
_REGISTRY = Registry(f"sqlite:///{_ROOT}/r.db")
fill_registry(_REGISTRY)
_STORE = EmbeddedStore(_ROOT / "t.db")
fill_store(_STORE)
with _REGISTRY.session() as _session:  # a running monitor, as beside any live API
    record_beat(_session, "cw-monitor", range(16), 16, 30.0, WALL_MS, 0,
                datetime.fromtimestamp(WALL_MS / 1000, UTC))


def _clean_up() -> None:
    _STORE.close()
    _REGISTRY.close()
    shutil.rmtree(_ROOT, ignore_errors=True)


atexit.register(_clean_up)
TOKENS = {"admin": make_token(_REGISTRY, "root", Role.ADMIN),
          "lender": make_token(_REGISTRY, "ana", Role.LENDER, "l1")}
# Private webhook targets allowed: a generated host name must not send the test to DNS.
_APP = create_app(_REGISTRY, _STORE, now_ms=lambda: WALL_MS,
                  options=ApiOptions(webhook_allow_private=True))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)

FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def _no_server_error(case: Any, who: str) -> None:
    response = case.call(headers=auth(TOKENS[who]))
    case.validate_response(response, checks=[not_a_server_error])


@schema.parametrize()
@FUZZ
def test_no_input_makes_a_server_error_for_an_admin(case: Any) -> None:
    _no_server_error(case, "admin")


@schema.parametrize()
@FUZZ
def test_no_input_makes_a_server_error_for_a_lender(case: Any) -> None:
    _no_server_error(case, "lender")
