"""The wire contract v1, pinned: what devices encode, ingest decodes, field for field."""

from __future__ import annotations

import json

import pytest

from devices.wire import READING_FIELDS, encode_message, telemetry_topic
from ingest.wire import FIELD_TYPES, Limits, RejectReason, decode_message, reading_to_wire

NOW = 1_764_331_200_000

FULL = {
    "seq": 7, "ts_ms": NOW - 1000, "lat": 31.2304, "lon": 121.4737, "alt_m": 4.0,
    "speed_kmh": 42.5, "heading_deg": 270.0, "gnss_fix": 3, "hdop": 0.9, "sats": 11,
    "ignition": True, "engine_rpm": 1500.0, "power_kw": 55.0, "vibration_mm_s": 2.5,
    "temp_c": 21.5, "fuel_pct": 63.0, "battery_v": 12.6, "ext_power": True, "tamper": False,
}


def test_both_sides_agree_on_the_field_set() -> None:
    assert dict(READING_FIELDS) == FIELD_TYPES


def test_every_field_round_trips() -> None:
    payload = encode_message("trk-1", [FULL])
    decoded = decode_message(telemetry_topic("trk-1"), payload, NOW)
    assert decoded.rejections == []
    (reading,) = decoded.readings
    assert reading_to_wire(reading) == FULL
    for name, expected in FIELD_TYPES.items():
        assert type(getattr(reading, name)) is expected, name


def test_batch_keeps_order_and_good_neighbours_of_a_bad_reading() -> None:
    bad = {"seq": 2, "ts_ms": NOW, "lat": 95.0}
    payload = encode_message("d", [{"seq": 1, "ts_ms": NOW}, bad, {"seq": 3, "ts_ms": NOW}])
    decoded = decode_message("telemetry/d", payload, NOW)
    assert [r.seq for r in decoded.readings] == [1, 3]
    (rejection,) = decoded.rejections
    assert rejection.reason is RejectReason.OUT_OF_RANGE
    assert json.loads(rejection.raw) == bad


def test_integral_json_number_becomes_float() -> None:
    decoded = decode_message("telemetry/d", encode_message("d", [{"seq": 1, "ts_ms": NOW,
                                                                   "speed_kmh": 0}]), NOW)
    assert decoded.readings[0].speed_kmh == 0.0
    assert isinstance(decoded.readings[0].speed_kmh, float)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("telemetry/d", b"\xff\xfe not json", RejectReason.NOT_JSON),
        ("telemetry/d", b"[1, 2]", RejectReason.NOT_OBJECT),
        ("telemetry/d", b'{"v": 2, "device_id": "d", "readings": []}',
         RejectReason.UNSUPPORTED_VERSION),
        ("telemetry/d", b'{"v": 1, "device_id": "a b", "readings": []}',
         RejectReason.BAD_DEVICE_ID),
        ("telemetry/x", b'{"v": 1, "device_id": "d", "readings": [{}]}',
         RejectReason.TOPIC_MISMATCH),
        ("telemetry/d", b'{"v": 1, "device_id": "d", "readings": []}', RejectReason.EMPTY_BATCH),
        ("telemetry/d", b'{"v": 1, "device_id": "d"}', RejectReason.MISSING_FIELD),
        ("telemetry/d", b'{"v": 1, "device_id": "d", "readings": [{"ts_ms": 1764331200000}]}',
         RejectReason.MISSING_FIELD),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":1764331200000,'
                        b'"speed_kmh":NaN}]}', RejectReason.NOT_JSON),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":1764331200000,'
                        b'"speed_kmh":"fast"}]}', RejectReason.WRONG_TYPE),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":1764331200000,'
                        b'"ignition":1}]}', RejectReason.WRONG_TYPE),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":true,"ts_ms":1764331200000}]}',
         RejectReason.WRONG_TYPE),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":1764331200000,'
                        b'"colour":"red"}]}', RejectReason.UNKNOWN_FIELD),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":1764331200000,'
                        b'"lon":-181.0}]}', RejectReason.OUT_OF_RANGE),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":1864331200000}]}',
         RejectReason.FUTURE_TIME),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":5}]}',
         RejectReason.ANCIENT_TIME),
        ("telemetry/d", b'{"v":1,"device_id":"d","readings":[{"seq":1,"ts_ms":1764331200000,'
                        b'"temp_c":1e999}]}', RejectReason.NON_FINITE),
    ],
)
def test_bad_input_is_a_rejection_with_a_reason(topic: str, payload: bytes,
                                                 reason: RejectReason) -> None:
    decoded = decode_message(topic, payload, NOW)
    assert decoded.readings == []
    assert [r.reason for r in decoded.rejections] == [reason]
    assert decoded.rejections[0].raw  # the bytes are kept for the dead letter


def test_oversized_and_too_large_batches() -> None:
    limits = Limits(max_payload_bytes=100, max_batch=2)
    big = encode_message("d", [{"seq": i, "ts_ms": NOW} for i in range(10)])
    assert decode_message("telemetry/d", big, NOW, limits).rejections[0].reason is \
        RejectReason.OVERSIZED
    three = encode_message("d", [{"seq": i, "ts_ms": NOW} for i in range(3)])
    reason = decode_message("telemetry/d", three, NOW, Limits(max_batch=2)).rejections[0].reason
    assert reason is RejectReason.BATCH_TOO_LARGE
