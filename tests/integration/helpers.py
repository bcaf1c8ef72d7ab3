"""Shared pieces of the integration tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def small_fleet(webhook_base: str) -> dict[str, Any]:
    return {
        "version": 1,
        "lenders": [{"id": "lender-1", "name": "Harbour Bank",
                     "webhook_url": f"{webhook_base}/webhooks/lender-1", "webhook_secret": SECRET}],
        "loans": [{"id": "loan-1", "lender_id": "lender-1", "borrower": "Acme"}],
        "assets": [{"id": "asset-1", "kind": "construction", "name": "Excavator 1",
                    "loan_id": "loan-1", "site": {"lat": 31.23, "lon": 121.47, "radius_m": 500},
                    "cadence_s": 60, "device_id": "cm-1"}],
    }


def wait_for(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout_s} s: {check.__doc__ or check}")


