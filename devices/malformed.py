"""A small labelled set of bad messages that the demo injects on purpose.

Each is (topic, payload, expected dead-letter reason); the reasons are the
values of ingest's ``RejectReason`` (ingest.wire), copied here because
devices never import ingest. Two cases are worth knowing:

- a ``NaN`` literal is not JSON (RFC 8259); ingest refuses it while parsing,
  so its reason is ``not_json``. A number too large for a float (``1e999``)
  is valid JSON that parses to infinity: that one is ``non_finite``.
- an unknown device is well-formed: only ingest's registry lookup knows.

>>> bad = malformed_messages(1, ["trk-0001", "cm-0002"], now_ms=1_764_547_200_000)
>>> sorted({reason for _, _, reason in bad})
['future_time', 'non_finite', 'not_json', 'out_of_range', 'oversized', 'topic_mismatch',
 'unknown_device', 'wrong_type']
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from devices.wire import SCHEMA_VERSION, telemetry_topic

__all__ = ["malformed_messages", "OVERSIZED_BYTES"]

#: Comfortably above ingest's 256 KiB payload limit.
OVERSIZED_BYTES = 300 * 1024
_FUTURE_MS = 24 * 3600 * 1000
# seq 0 never collides with a simulated device's own readings (they count from 1).
_SEQ = 0


def malformed_messages(seed: int, device_ids: list[str],
                       now_ms: int) -> list[tuple[str, bytes, str]]:
    """Bad messages for fleet devices (and one stranger), each with the reason to expect."""
    if not device_ids:
        raise ValueError("malformed_messages needs at least one device id")
    rng = random.Random(seed)
    ids = sorted(device_ids)
    a = rng.choice(ids)
    others = [d for d in ids if d != a]
    b = rng.choice(others) if others else a + "-other"
    base = {"seq": _SEQ, "ts_ms": now_ms, "lat": round(rng.uniform(22.5, 39.0), 6),
            "lon": round(rng.uniform(113.0, 122.0), 6), "speed_kmh": 0.0}

    def message(device: str, **changes: Any) -> bytes:
        return _encode(device, {**base, **changes})

    truncated = message(a)[:40]
    return [
        (telemetry_topic(a), truncated, "not_json"),
        (telemetry_topic(a), message(a, temp_c="@NUM@").replace(b'"@NUM@"', b"NaN"), "not_json"),
        (telemetry_topic(a), message(a, temp_c="@NUM@").replace(b'"@NUM@"', b"1e999"),
         "non_finite"),
        (telemetry_topic(a), message(a, lat=123.0), "out_of_range"),
        (telemetry_topic(a), message(a, speed_kmh="fast"), "wrong_type"),
        (telemetry_topic(b), message(a), "topic_mismatch"),
        _stranger(rng, set(ids), message),
        (telemetry_topic(a), message(a, ts_ms=now_ms + _FUTURE_MS), "future_time"),
        (telemetry_topic(a), _oversized(a, base), "oversized"),
    ]


def _encode(device_id: str, reading: dict[str, Any]) -> bytes:
    body = {"v": SCHEMA_VERSION, "device_id": device_id, "readings": [reading]}
    return json.dumps(body, separators=(",", ":")).encode()


def _stranger(rng: random.Random, known: set[str],
              message: Callable[[str], bytes]) -> tuple[str, bytes, str]:
    """A well-formed message from a device the fleet does not have."""
    device = f"ghost-{rng.getrandbits(32):08x}"
    while device in known:
        device = f"ghost-{rng.getrandbits(32):08x}"
    return telemetry_topic(device), message(device), "unknown_device"


def _oversized(device_id: str, reading: dict[str, Any]) -> bytes:
    # A store-and-forward batch gone wrong: the same reading repeated past the size limit.
    one = json.dumps(reading, separators=(",", ":"))
    count = OVERSIZED_BYTES // len(one) + 1
    readings = ",".join([one] * count)
    text = f'{{"v":{SCHEMA_VERSION},"device_id":{json.dumps(device_id)},"readings":[{readings}]}}'
    return text.encode()
