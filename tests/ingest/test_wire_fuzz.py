"""Fuzz the wire decoder: 100,000 generated bad payloads, no crash, every one accounted for.

Two generators, both seeded: one builds payloads that are bad in a known way
(each must come back as exactly the expected rejection, with its raw bytes),
the other mutates good payloads at the byte level (anything may come back,
but never an exception, and every reading in the message is either decoded or
rejected with a reason).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable

import orjson

from devices.wire import encode_message
from ingest.wire import Limits, RejectReason, decode_message

NOW = 1_764_331_200_000
LIMITS = Limits(max_payload_bytes=4096, max_batch=20)
TOPIC = "telemetry/d-1"
GOOD = {"seq": 1, "ts_ms": NOW - 1000, "lat": 31.2, "lon": 121.4, "speed_kmh": 3.5,
        "gnss_fix": 3, "ignition": True}

Case = tuple[str, bytes, RejectReason]


def _msg(reading: dict[str, object], device: str = "d-1") -> bytes:
    return json.dumps({"v": 1, "device_id": device, "readings": [reading]}).encode()


def _without(reading: dict[str, object], name: str) -> bytes:
    return _msg({k: v for k, v in reading.items() if k != name})


def _field(rng: random.Random, value: object) -> bytes:
    name = rng.choice(["lat", "lon", "speed_kmh", "hdop", "temp_c", "fuel_pct"])
    return _msg({**GOOD, name: value})


_BUILDERS: list[Callable[[random.Random], Case]] = [
    lambda r: (TOPIC, bytes(r.randrange(256) for _ in range(r.randrange(1, 40))) + b"\xff",
               RejectReason.NOT_JSON),
    lambda r: (TOPIC, _msg(GOOD)[: r.randrange(1, 40)], RejectReason.NOT_JSON),
    lambda r: (TOPIC, _msg({**GOOD, "lat": 1.0}).replace(b"1.0", r.choice(
        [b"NaN", b"Infinity", b"-Infinity"])), RejectReason.NOT_JSON),
    lambda r: (TOPIC, _msg({**GOOD, "temp_c": 1.0}).replace(b"1.0", b"1e%d" % r.randrange(
        309, 5000)), RejectReason.NON_FINITE),
    lambda r: (TOPIC, b"[" * r.randrange(1100, 3000), RejectReason.NOT_JSON),
    lambda r: (TOPIC, json.dumps(r.choice([[], 1, "x", None, True])).encode(),
               RejectReason.NOT_OBJECT),
    lambda r: (TOPIC, json.dumps({"v": r.choice([0, 2, "1", True, None, 1.5]), "device_id": "d-1",
                                  "readings": [GOOD]}).encode(), RejectReason.UNSUPPORTED_VERSION),
    lambda r: (TOPIC, _msg(GOOD, device=r.choice(["", "a b", "-x", "é", "x" * 65])),
               RejectReason.BAD_DEVICE_ID),
    lambda r: (f"telemetry/d-{r.randrange(2, 10**6)}", _msg(GOOD), RejectReason.TOPIC_MISMATCH),
    lambda r: (TOPIC, json.dumps({"v": 1, "device_id": "d-1", "readings": []}).encode(),
               RejectReason.EMPTY_BATCH),
    lambda r: (TOPIC, json.dumps({"v": 1, "device_id": "d-1",
                                  "readings": [{"seq": 1}] * r.randrange(21, 40)}).encode(),
               RejectReason.BATCH_TOO_LARGE),
    lambda r: (TOPIC, _msg({**GOOD, "lat": 1.0}) + b" " * 4096, RejectReason.OVERSIZED),
    lambda r: (TOPIC, _without(GOOD, r.choice(["seq", "ts_ms"])), RejectReason.MISSING_FIELD),
    lambda r: (TOPIC, _msg({**GOOD, f"x{r.randrange(1000)}": 1}), RejectReason.UNKNOWN_FIELD),
    lambda r: (TOPIC, _field(r, r.choice(["1", True, [1], {"a": 1}])), RejectReason.WRONG_TYPE),
    lambda r: (TOPIC, _msg({**GOOD, "seq": r.choice([-1, 1.5, "7", False])}),
               RejectReason.WRONG_TYPE),
    lambda r: (TOPIC, _msg({**GOOD, "lat": r.uniform(90.0001, 1e6) * r.choice([1, -1])}),
               RejectReason.OUT_OF_RANGE),
    lambda r: (TOPIC, _msg({**GOOD, "lon": r.uniform(180.0001, 1e6) * r.choice([1, -1])}),
               RejectReason.OUT_OF_RANGE),
    lambda r: (TOPIC, _msg({**GOOD, "ts_ms": NOW + r.randrange(300_001, 10**13)}),
               RejectReason.FUTURE_TIME),
    lambda r: (TOPIC, _msg({**GOOD, "ts_ms": r.randrange(0, 946_684_800_000)}),
               RejectReason.ANCIENT_TIME),
]


def test_known_bad_payloads_each_become_their_rejection() -> None:
    rng = random.Random(4)
    reasons: Counter[RejectReason] = Counter()
    for i in range(60_000):
        topic, payload, expected = _BUILDERS[i % len(_BUILDERS)](rng)
        decoded = decode_message(topic, payload, NOW, LIMITS)
        assert decoded.readings == [], payload
        assert [r.reason for r in decoded.rejections] == [expected], payload
        assert decoded.rejections[0].raw, payload
        reasons[expected] += 1
    assert len(reasons) == len({b(random.Random(0))[2] for b in _BUILDERS})
    assert sum(reasons.values()) == 60_000


def test_mutated_payloads_never_crash_and_every_reading_is_accounted_for() -> None:
    rng = random.Random(44)
    base = encode_message("d-1", [{**GOOD, "seq": s} for s in range(1, 4)])
    outcomes: Counter[str] = Counter()
    for _ in range(40_000):
        payload = _mutate(rng, bytearray(base))
        decoded = decode_message(TOPIC, payload, NOW, LIMITS)
        accounted = len(decoded.readings) + len(decoded.rejections)
        assert accounted >= 1, payload
        if decoded.readings:  # parsed: each reading in it is kept or refused, none lost
            assert accounted == len(orjson.loads(payload)["readings"]), payload
        for rejection in decoded.rejections:
            assert isinstance(rejection.reason, RejectReason) and rejection.raw
        outcomes["kept" if not decoded.rejections else "rejected"] += 1
    assert outcomes["rejected"] > 20_000  # the mutations mostly break something


def _mutate(rng: random.Random, data: bytearray) -> bytes:
    for _ in range(rng.randrange(1, 4)):
        i = rng.randrange(len(data))
        kind = rng.randrange(4)
        if kind == 0:
            data[i] = rng.randrange(256)
        elif kind == 1:
            del data[i : i + rng.randrange(1, 8)]
        elif kind == 2:
            data[i:i] = rng.choice([b"NaN", b"-", b"1e400", b'"', b"{", b"]", b"\x00", b"9" * 30])
        else:
            data[i] = rng.choice(b"0123456789.-e")
    return bytes(data)
