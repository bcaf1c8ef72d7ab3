"""The hand-off from ingest to the monitor: validated readings, partitioned by asset.

Ingest publishes stored readings on ``cw/readings/{partition}``; each monitor
worker subscribes to the partitions it owns, so one asset's state lives in
one worker. The payload reuses the wire v1 reading shape.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ingest.wire import Limits, Reading, decode_message, reading_to_wire

__all__ = ["AssetReading", "partition_of", "handoff_topic", "encode_handoff",
           "encode_handoff_groups", "decode_handoff"]

HANDOFF_PREFIX = "cw/readings"


@dataclass(frozen=True, slots=True)
class AssetReading:
    asset_id: str
    reading: Reading


def partition_of(asset_id: str, partitions: int) -> int:
    """Stable across processes and Python versions (unlike ``hash``).

    >>> partition_of("asset-0001", 16) == partition_of("asset-0001", 16)
    True
    """
    return zlib.crc32(asset_id.encode()) % partitions


def handoff_topic(partition: int) -> str:
    return f"{HANDOFF_PREFIX}/{partition}"


def encode_handoff(items: Sequence[AssetReading]) -> bytes:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        key = (item.asset_id, item.reading.device_id)
        groups.setdefault(key, []).append(reading_to_wire(item.reading))
    return encode_handoff_groups(groups)


def encode_handoff_groups(groups: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]]) -> bytes:
    """A hand-off from wire-v1 reading dicts grouped by (asset id, device id)."""
    body = [
        {"asset_id": asset, "device_id": device, "readings": readings}
        for (asset, device), readings in groups.items()
    ]
    return orjson.dumps({"v": 1, "items": body})


def decode_handoff(payload: bytes) -> Iterable[AssetReading]:
    """Readings from a hand-off message; ingest validated them, so any error is a bug."""
    body = orjson.loads(payload)
    for group in body["items"]:
        wire = orjson.dumps(
            {"v": 1, "device_id": group["device_id"], "readings": group["readings"]}
        )
        decoded = decode_message(
            f"telemetry/{group['device_id']}", wire, now_ms=2**62, limits=_TRUSTED
        )
        for reading in decoded.readings:
            yield AssetReading(group["asset_id"], reading)


_TRUSTED = Limits(max_payload_bytes=2**31, max_batch=2**31)
