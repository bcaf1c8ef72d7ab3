"""The device-side encoder: compact JSON identical to the standard library's, no NaN."""

from __future__ import annotations

import json

import pytest

from devices.wire import encode_message

READING = {"seq": 17, "ts_ms": 1_764_331_200_000, "lat": 31.2304, "lon": 121.4737,
           "speed_kmh": 0.0, "hdop": 0.9, "sats": 11, "ignition": False, "battery_v": 4.11,
           "vibration_mm_s": 1e-05, "power_kw": 1234567.8}


def test_encoding_matches_compact_standard_json() -> None:
    body = {"v": 1, "device_id": "trk-0001", "readings": [READING]}
    assert json.loads(encode_message("trk-0001", [READING])) == body
    assert encode_message("trk-0001", [READING]).startswith(b'{"v":1,"device_id":"trk-0001"')


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        encode_message("trk-0001", [{**READING, "lat": bad}])
