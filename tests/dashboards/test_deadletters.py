from __future__ import annotations

from fastapi.testclient import TestClient


def test_counts_by_reason_and_newest_first(client: TestClient) -> None:
    body = client.get("/api/deadletters").json()
    assert body["total"] == 3
    assert body["counts"] == {"not_json": 2, "unknown_device": 1}
    assert [d["topic"] for d in body["newest"]] == ["telemetry/trk-9", "telemetry/y",
                                                    "telemetry/x"]
    newest = body["newest"][0]
    assert (newest["reason"], newest["device_id"], newest["detail"]) == (
        "unknown_device", "trk-9", "no such device")
    assert newest["received_at"].startswith("2025-11-28T12:05:00")
    assert newest["received_at"].endswith(("Z", "+00:00"))


def test_payload_preview_is_short_and_escaped(client: TestClient) -> None:
    by_topic = {d["topic"]: d for d in client.get("/api/deadletters").json()["newest"]}
    long = by_topic["telemetry/trk-9"]
    assert (long["payload_size"], long["truncated"]) == (303, True)
    assert long["payload_preview"] == "<b>" + "x" * 197
    binary = by_topic["telemetry/x"]
    assert binary["payload_preview"] == "\\x00\\xffhello"
    assert binary["truncated"] is False


def test_filter_and_limit(client: TestClient) -> None:
    body = client.get("/api/deadletters?reason=not_json&limit=1").json()
    assert [d["topic"] for d in body["newest"]] == ["telemetry/y"]
    assert body["total"] == 3  # the counts always cover everything
    assert client.get("/api/deadletters?limit=0").status_code == 422
    assert client.get("/api/deadletters?limit=501").status_code == 422
