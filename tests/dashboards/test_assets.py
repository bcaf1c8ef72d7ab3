from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.dashboards.conftest import HOUR, MIN, SECRET, T0, WALL_MS


def test_list_assets_with_last_reading_and_open_alert_kinds(client: TestClient) -> None:
    response = client.get("/api/assets")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    by_id = {a["id"]: a for a in body["data"]}
    assert list(by_id) == ["plant-1", "ship-1", "truck-1"]
    truck = by_id["truck-1"]
    assert (truck["kind"], truck["loan_id"], truck["lender_id"]) == ("truck", "n1", "l1")
    assert truck["device_ids"] == ["trk-1"]
    assert truck["last_seen_ms"] == T0 and truck["last_seen_at"] == "2025-11-28T12:00:00.000Z"
    assert truck["position"] == {"lat": 31.2, "lon": 121.4}
    assert truck["open_alert_kinds"] == ["tamper"]  # the resolved geofence exit is not open
    assert truck["site"] == {"lat": 31.2, "lon": 121.4, "radius_m": 500.0}
    assert by_id["plant-1"]["position"] is None  # its last point has no fix
    assert by_id["ship-1"]["last_seen_ms"] is None and by_id["ship-1"]["device_ids"] == []


@pytest.mark.parametrize(("query", "ids"), [
    ("kind=truck", ["truck-1"]),
    ("loan_id=n1", ["plant-1", "truck-1"]),
    ("lender_id=l2", ["ship-1"]),
    ("limit=1&offset=1", ["ship-1"]),
    ("loan_id=nope", []),
])
def test_filters_and_paging(client: TestClient, query: str, ids: list[str]) -> None:
    body = client.get(f"/api/assets?{query}").json()
    assert [a["id"] for a in body["data"]] == ids


def test_count_is_the_total_not_the_page(client: TestClient) -> None:
    assert client.get("/api/assets?limit=1").json()["count"] == 3


@pytest.mark.parametrize("query", ["kind=Big%20car", "limit=0", "limit=100000", "offset=-1",
                                   "limit=ten"])
def test_bad_list_parameters_are_422(client: TestClient, query: str) -> None:
    assert client.get(f"/api/assets?{query}").status_code == 422


def test_one_asset_with_its_open_alerts(client: TestClient) -> None:
    body = client.get("/api/assets/truck-1").json()
    assert body["name"] == "Truck <1>"
    assert [a["kind"] for a in body["open_alerts"]] == ["tamper"]


def test_unknown_asset_is_404(client: TestClient) -> None:
    response = client.get("/api/assets/nope")
    assert response.status_code == 404 and "nope" in response.json()["detail"]
    assert client.get("/api/assets/nope/telemetry").status_code == 404


def test_no_secret_or_webhook_url_in_any_asset_response(client: TestClient) -> None:
    text = client.get("/api/assets").text + client.get("/api/assets/truck-1").text
    assert SECRET not in text and "webhook" not in text


# -- telemetry ------------------------------------------------------------------------------


def test_default_window_is_the_day_before_the_newest_reading(client: TestClient) -> None:
    body = client.get("/api/assets/truck-1/telemetry").json()
    # Device time, not the wall clock (WALL_MS is a month later): all 25 readings.
    assert body["end_ms"] == T0 + 1 and body["start_ms"] == T0 + 1 - 24 * HOUR
    assert body["count"] == 25
    first, last = body["points"][0], body["points"][-1]
    assert first["ts_ms"] == T0 - 2 * HOUR and last["ts_ms"] == T0
    assert last["at"] == "2025-11-28T12:00:00.000Z"
    assert last["values"]["lat"] == 31.2 and last["values"]["ignition"] is True


def test_no_readings_window_ends_at_the_wall_clock(client: TestClient) -> None:
    body = client.get("/api/assets/ship-1/telemetry").json()
    assert (body["end_ms"], body["count"], body["points"]) == (WALL_MS, 0, [])


def test_iso_and_epoch_ms_times_and_field_list(client: TestClient) -> None:
    start, end = "2025-11-28T11:00:00Z", str(T0)
    body = client.get("/api/assets/truck-1/telemetry",
                      params={"start": start, "end": end, "fields": "speed_kmh, lat"}).json()
    assert (body["start_ms"], body["end_ms"]) == (T0 - HOUR, T0)
    assert body["fields"] == ["speed_kmh", "lat"]
    assert body["count"] == 12  # 11:00 .. 11:55; end is exclusive
    assert set(body["points"][0]["values"]) == {"speed_kmh", "lat"}


def test_naive_iso_time_is_utc(client: TestClient) -> None:
    body = client.get("/api/assets/truck-1/telemetry",
                      params={"start": "2025-11-28T11:00:00", "end": "2025-11-28 12:00"}).json()
    assert (body["start_ms"], body["end_ms"]) == (T0 - HOUR, T0)


@pytest.mark.parametrize(("every", "every_ms"), [("30m", 30 * MIN), ("3600", HOUR), ("1h", HOUR)])
def test_downsampled(client: TestClient, every: str, every_ms: int) -> None:
    body = client.get("/api/assets/truck-1/telemetry",
                      params={"every": every, "fields": "speed_kmh,ignition"}).json()
    assert body["every_ms"] == every_ms
    assert all(p["ts_ms"] % every_ms == 0 for p in body["points"])
    assert 0.0 <= body["points"][0]["values"]["ignition"] <= 1.0


@pytest.mark.parametrize(("params", "where", "words"), [
    ({"start": "yesterday"}, "start", "ISO 8601"),
    ({"end": "2025-13-01"}, "end", "ISO 8601"),
    ({"start": "2025-11-28T12:00:00Z", "end": "2025-11-28T11:00:00Z"}, "end", "after start"),
    ({"start": "2024-01-01", "end": "2025-11-28"}, "end", "at most 400 days"),
    ({"every": "5 parsecs"}, "every", "duration"),
    ({"every": "0s"}, "every", "longer than 0"),
    ({"every": "1ms", "start": "2025-11-01"}, "every", "use a larger every"),
    ({"fields": "lat,altitude"}, "fields", "unknown altitude"),
    ({"fields": " , "}, "fields", "at least one"),
    ({"start": "99999999999999999999"}, "start", "outside"),
    ({"start": "-5"}, "start", "ISO 8601"),
])
def test_bad_telemetry_parameters_are_422_with_a_clear_message(
        client: TestClient, params: dict[str, str], where: str, words: str) -> None:
    response = client.get("/api/assets/truck-1/telemetry", params=params)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == ["query", where]
    assert words in error["msg"]


def test_too_many_raw_readings_is_422(client: TestClient,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dashboards.routes.assets.MAX_POINTS", 10)
    response = client.get("/api/assets/truck-1/telemetry")
    assert response.status_code == 422
    assert "more than 10 readings" in response.json()["errors"][0]["msg"]
    assert client.get("/api/assets/truck-1/telemetry?every=6h").status_code == 200
