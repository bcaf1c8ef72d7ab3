"""Wire contract v1, platform side: bytes from a tracker to frozen ``Reading`` values.

Decoding never raises on bad input: every problem becomes a ``Rejection``
with a reason and the raw bytes it concerns, so ingest can dead-letter it.
Good readings in a batch survive a bad neighbour.

>>> r = decode_message("telemetry/d1",
...     b'{"v":1,"device_id":"d1","readings":[{"seq":1,"ts_ms":1764331200000,"speed_kmh":3.5}]}',
...     now_ms=1764331200000)
>>> r.readings[0].speed_kmh, r.rejections
(3.5, [])
>>> bad = decode_message("telemetry/d2", b'{"v":1,"device_id":"d1","readings":[]}', now_ms=0)
>>> bad.rejections[0].reason
<RejectReason.TOPIC_MISMATCH: 'topic_mismatch'>
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "SCHEMA_VERSION",
    "FIELD_TYPES",
    "Reading",
    "RejectReason",
    "Rejection",
    "Decoded",
    "DecodedFields",
    "Limits",
    "WireFields",
    "decode_fields",
    "decode_message",
    "reading_to_wire",
]

SCHEMA_VERSION = 1

FIELD_TYPES: dict[str, type] = {
    "lat": float,
    "lon": float,
    "alt_m": float,
    "speed_kmh": float,
    "heading_deg": float,
    "gnss_fix": int,
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

# Inclusive physical bounds; a value outside is a wrong reading, not an extreme one.
_RANGES: dict[str, tuple[float, float]] = {
    "lat": (-90.0, 90.0),
    "lon": (-180.0, 180.0),
    "alt_m": (-1000.0, 20000.0),
    "speed_kmh": (0.0, 1500.0),
    "heading_deg": (0.0, 360.0),
    "gnss_fix": (0, 3),
    "hdop": (0.0, 100.0),
    "sats": (0, 128),
    "engine_rpm": (0.0, 30000.0),
    "power_kw": (-100000.0, 100000.0),
    "vibration_mm_s": (0.0, 10000.0),
    "temp_c": (-80.0, 1000.0),
    "fuel_pct": (0.0, 100.0),
    "battery_v": (0.0, 1000.0),
}

# name -> (type, low, high): the inline check in _decode_reading; _check_field explains.
_FIELD_NAMES = tuple(FIELD_TYPES)
_SPECS: dict[str, tuple[type, Any, Any]] = {
    name: (kind, *_RANGES.get(name, (None, None))) for name, kind in FIELD_TYPES.items()
}

_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MIN_TS_MS = 946_684_800_000  # 2000-01-01: older means an unset device clock


class RejectReason(StrEnum):
    OVERSIZED = "oversized"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    UNSUPPORTED_VERSION = "unsupported_version"
    BAD_DEVICE_ID = "bad_device_id"
    TOPIC_MISMATCH = "topic_mismatch"
    EMPTY_BATCH = "empty_batch"
    BATCH_TOO_LARGE = "batch_too_large"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"
    NON_FINITE = "non_finite"
    OUT_OF_RANGE = "out_of_range"
    FUTURE_TIME = "future_time"
    ANCIENT_TIME = "ancient_time"
    UNKNOWN_DEVICE = "unknown_device"
    DUPLICATE = "duplicate"
    REPLAYED_SEQ = "replayed_seq"  # a sequence number seen before, on a different reading
    STORE_REJECTED = "store_rejected"


@dataclass(frozen=True, slots=True)
class Reading:
    """One timestamped reading from one device. Absent fields are ``None``."""

    device_id: str
    seq: int
    ts_ms: int
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None
    speed_kmh: float | None = None
    heading_deg: float | None = None
    gnss_fix: int | None = None
    hdop: float | None = None
    sats: int | None = None
    ignition: bool | None = None
    engine_rpm: float | None = None
    power_kw: float | None = None
    vibration_mm_s: float | None = None
    temp_c: float | None = None
    fuel_pct: float | None = None
    battery_v: float | None = None
    ext_power: bool | None = None
    tamper: bool | None = None

    def fields(self) -> dict[str, float | int | bool]:
        """The measured fields that are present, keyed by wire name."""
        return {name: value for name in _FIELD_NAMES
                if (value := getattr(self, name)) is not None}

    @property
    def has_fix(self) -> bool:
        fix_ok = self.gnss_fix is None or self.gnss_fix >= 2  # absent: the device did not say
        return self.lat is not None and self.lon is not None and fix_ok


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str
    raw: bytes
    device_id: str | None = None


@dataclass(slots=True)
class Decoded:
    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    device_id: str | None = None


class WireFields(dict[str, float | int | bool]):
    """A valid reading's measured fields as the decoder checked them: known names, each
    of its exact type (floats as float), finite and in range; absent ones left out.

    Only the decoder makes them, so a store may format them without checking again.
    """

    __slots__ = ()


@dataclass(slots=True)
class DecodedFields:
    """``decode_fields``' result: per valid reading (seq, ts_ms, fields, its wire dict)."""

    readings: list[tuple[int, int, WireFields, dict[str, Any]]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 256 * 1024
    max_batch: int = 2000
    max_future_skew_ms: int = 5 * 60 * 1000


def reading_to_wire(reading: Reading) -> dict[str, Any]:
    """The wire dict of one reading (inverse of decoding it)."""
    return {"seq": reading.seq, "ts_ms": reading.ts_ms, **reading.fields()}


def decode_message(
    topic: str, payload: bytes, now_ms: int, limits: Limits = Limits()
) -> Decoded:
    """Decode one MQTT message on ``telemetry/{device_id}``."""
    fields = decode_fields(topic, payload, now_ms, limits)
    device_id = fields.device_id
    readings = [Reading(device_id, seq, ts_ms, **values)  # type: ignore[arg-type]
                for seq, ts_ms, values, _wire in fields.readings]
    return Decoded(readings, fields.rejections, device_id)


def decode_fields(
    topic: str, payload: bytes, now_ms: int, limits: Limits = Limits()
) -> DecodedFields:
    """As ``decode_message``, the same checks, without a ``Reading`` per reading: ingest's
    hot path. Each valid reading keeps the wire dict it came in (for the hand-off)."""
    out = DecodedFields()
    if len(payload) > limits.max_payload_bytes:
        return _reject(out, RejectReason.OVERSIZED, f"{len(payload)} bytes", payload)
    try:
        # orjson refuses NaN/Infinity literals, invalid UTF-8, integers beyond 64 bits and
        # nesting deeper than 1,024 (where json.loads would raise RecursionError).
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        # A number too large for a double (1e999) is an infinity, as json.loads read it.
        infinite = "infinity" in str(exc)
        reason = RejectReason.NON_FINITE if infinite else RejectReason.NOT_JSON
        return _reject(out, reason, str(exc)[:200], payload)
    if not isinstance(body, dict):
        return _reject(out, RejectReason.NOT_OBJECT, type(body).__name__, payload)
    problem = _check_envelope(topic, body, limits)
    device_id = body.get("device_id") if isinstance(body.get("device_id"), str) else None
    out.device_id = device_id
    if problem is not None:
        return _reject(out, problem[0], problem[1], payload, device_id)
    assert device_id is not None
    for item in body["readings"]:
        reading_or_rejection = _decode_reading(device_id, item, now_ms, limits, payload)
        if type(reading_or_rejection) is tuple:
            out.readings.append(reading_or_rejection)
        else:
            out.rejections.append(reading_or_rejection)  # type: ignore[arg-type]
    return out


def _reject(
    out: DecodedFields, reason: RejectReason, detail: str, raw: bytes, device_id: str | None = None
) -> DecodedFields:
    out.rejections.append(Rejection(reason, detail, raw, device_id))
    return out


def _check_envelope(
    topic: str, body: dict[str, Any], limits: Limits
) -> tuple[RejectReason, str] | None:
    version = body.get("v")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        return RejectReason.UNSUPPORTED_VERSION, f"v={version!r}"
    device_id = body.get("device_id")
    if not isinstance(device_id, str) or not _DEVICE_ID.match(device_id):
        return RejectReason.BAD_DEVICE_ID, repr(device_id)[:80]
    if topic != f"telemetry/{device_id}":
        return RejectReason.TOPIC_MISMATCH, f"topic {topic!r} carries device {device_id!r}"
    readings = body.get("readings")
    if not isinstance(readings, list):
        return RejectReason.MISSING_FIELD, "readings must be a list"
    if not readings:
        return RejectReason.EMPTY_BATCH, "no readings"
    if len(readings) > limits.max_batch:
        return RejectReason.BATCH_TOO_LARGE, f"{len(readings)} > {limits.max_batch}"
    return None


def _decode_reading(
    device_id: str, item: Any, now_ms: int, limits: Limits, payload: bytes
) -> tuple[int, int, WireFields, dict[str, Any]] | Rejection:
    def bad(reason: RejectReason, detail: str) -> Rejection:
        return Rejection(reason, detail, _reading_bytes(item, payload), device_id)

    if not isinstance(item, dict):
        return bad(RejectReason.NOT_OBJECT, "reading is not an object")
    seq, ts_ms = item.get("seq"), item.get("ts_ms")
    if not (type(seq) is int and type(ts_ms) is int and seq >= 0 and ts_ms >= 0):
        for name, value in (("seq", seq), ("ts_ms", ts_ms)):
            if value is None:
                return bad(RejectReason.MISSING_FIELD, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return bad(RejectReason.WRONG_TYPE, f"{name} must be a non-negative integer")
    assert isinstance(ts_ms, int) and isinstance(seq, int)
    if ts_ms > now_ms + limits.max_future_skew_ms:
        return bad(RejectReason.FUTURE_TIME, f"ts_ms {ts_ms} is {ts_ms - now_ms} ms ahead")
    if ts_ms < _MIN_TS_MS:
        return bad(RejectReason.ANCIENT_TIME, f"ts_ms {ts_ms} is before 2000")
    values = WireFields()
    for name, value in item.items():
        if value is None:
            continue
        spec = _SPECS.get(name)
        if spec is not None:  # the common case, checked inline: this runs per field
            kind, low, high = spec
            vtype = type(value)
            if (vtype is kind or (vtype is int and kind is float)) and (
                    low is None or low <= value <= high):
                values[name] = value if vtype is kind else float(value)
                continue
        elif name in ("seq", "ts_ms"):
            continue
        problem = _check_field(name, value)
        if problem is not None:
            return bad(*problem)
        values[name] = float(value) if FIELD_TYPES[name] is float else value
    return seq, ts_ms, values, item


def _reading_bytes(item: Any, payload: bytes) -> bytes:
    """One reading of a batch as JSON bytes, for its own dead letter."""
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes: keep the message
        return payload


def _check_field(name: str, value: Any) -> tuple[RejectReason, str] | None:
    expected = FIELD_TYPES.get(name)
    if expected is None:
        return RejectReason.UNKNOWN_FIELD, name[:64]
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        return RejectReason.WRONG_TYPE, f"{name}={value!r}"[:80]
    if isinstance(value, float) and not math.isfinite(value):
        return RejectReason.NON_FINITE, name
    bounds = _RANGES.get(name)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return RejectReason.OUT_OF_RANGE, f"{name}={value!r} outside {bounds}"
    return None
