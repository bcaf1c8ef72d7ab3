"""``collateral demo`` end to end, short: every scripted incident must raise its alert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collateral.demo import INCIDENT_ALERT_KIND, DemoOptions, run_demo
from collateral.settings import Settings

pytestmark = pytest.mark.integration


def test_short_demo_raises_every_scripted_incident(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_port=0, broker_url=None, store_url=None,
                        registry_url=None)
    summary_path = tmp_path / "s.json"
    summary = run_demo(settings, DemoOptions(assets=40, seed=11, speed=3600.0, duration_s=25.0,
                                             summary_json=summary_path))
    assert json.loads(summary_path.read_text()) == summary
    assert summary["messages_published"] > 1000
    assert summary["messages_received_by_ingest"] == \
        summary["messages_published"] + summary["malformed_injected"]
    assert summary["readings_stored"] >= summary["messages_published"] * 0.99
    incidents = summary["incidents"]
    assert {i["incident"] for i in incidents} >= set(INCIDENT_ALERT_KIND)
    assert all(i["raised"] for i in incidents), incidents
    assert summary["alerts_without_incident"] == []
    assert summary["webhooks_delivered"] >= len(incidents)
    assert summary["signature_failures"] == 0
    dead = summary["dead_letters_by_reason"]
    assert sum(dead.values()) == summary["malformed_injected"]
    assert {"not_json", "out_of_range", "topic_mismatch", "unknown_device"} <= set(dead)
