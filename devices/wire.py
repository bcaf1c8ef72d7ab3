"""Wire contract v1, device side: how a tracker encodes what it publishes.

This module is the only thing devices share with ingest, and only through
bytes on the wire. ``ingest.wire`` decodes the same format; a round-trip test
(tests/ingest/test_wire_roundtrip.py) pins the two together.

A message is JSON::

    {"v": 1, "device_id": "trk-0001",
     "readings": [{"seq": 17, "ts_ms": 1764331200000, "lat": 31.23, "lon": 121.47,
                   "speed_kmh": 0.0, "ignition": false, ...}]}

``readings`` holds one reading, or several when a device uploads a
store-and-forward batch. ``seq`` is per device and per reading, strictly
increasing as the device produced them, so gaps and replays are visible.
``ts_ms`` is the device's own clock (UTC epoch milliseconds).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

__all__ = ["SCHEMA_VERSION", "READING_FIELDS", "telemetry_topic", "status_topic", "encode_message"]

SCHEMA_VERSION = 1

#: Optional reading fields and their JSON types. Units are in the names.
READING_FIELDS: Mapping[str, type] = {
    "lat": float,  # WGS84 degrees
    "lon": float,  # WGS84 degrees
    "alt_m": float,
    "speed_kmh": float,
    "heading_deg": float,
    "gnss_fix": int,  # 0 no fix, 2 2D, 3 3D
    "hdop": float,
    "sats": int,
    "ignition": bool,
    "engine_rpm": float,
    "power_kw": float,
    "vibration_mm_s": float,
    "temp_c": float,
    "fuel_pct": float,
    "battery_v": float,
    "ext_power": bool,
    "tamper": bool,
}


def telemetry_topic(device_id: str) -> str:
    return f"telemetry/{device_id}"


def status_topic(device_id: str) -> str:
    return f"status/{device_id}"


def encode_message(device_id: str, readings: Sequence[Mapping[str, Any]]) -> bytes:
    """Encode one or more readings (dicts with ``seq``, ``ts_ms`` and fields).

    >>> encode_message("d1", [{"seq": 1, "ts_ms": 1000, "ignition": True}])
    b'{"v":1,"device_id":"d1","readings":[{"seq":1,"ts_ms":1000,"ignition":true}]}'
    """
    body = {"v": SCHEMA_VERSION, "device_id": device_id, "readings": list(readings)}
    encoded = orjson.dumps(body)  # ~10x faster than json: it is a third of a simulated reading
    if b"null" in encoded:  # orjson writes NaN and infinities as null; refuse them as json does
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    return encoded
