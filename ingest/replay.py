"""Replay dead letters after a fix: publish their raw bytes again on their topic.

Ingest then judges them afresh, exactly as the first time: a device that has
since been registered is stored, a payload still bad is dead-lettered again
(a new record). A dead letter that is one reading cut from a batch holds only
that reading's JSON; it is wrapped back into a wire v1 message of one reading.

>>> replay_payload(b'{"seq": 3, "ts_ms": 1}', "trk-1")
b'{"v":1,"device_id":"trk-1","readings":[{"seq":3,"ts_ms":1}]}'
>>> replay_payload(b"{not json", "trk-1")
b'{not json'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import select

from ingest.wire import SCHEMA_VERSION
from registry import Registry
from registry.models import DeadLetter

__all__ = ["ReplayItem", "replay_payload", "pending_dead_letters", "replay_dead_letters"]

#: Publishes (topic, payload) at QoS 1 and returns once the broker has it.
Publish = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class ReplayItem:
    id: int
    topic: str
    reason: str
    payload: bytes


def replay_payload(raw: bytes, device_id: str | None) -> bytes:
    """The message to publish again for a dead letter's raw bytes."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if isinstance(body, dict) and "readings" not in body and "seq" in body and device_id:
        return orjson.dumps({"v": SCHEMA_VERSION, "device_id": device_id, "readings": [body]})
    return raw


def pending_dead_letters(registry: Registry, reason: str | None = None,
                         ids: list[int] | None = None, limit: int = 1000) -> list[ReplayItem]:
    """Dead letters not replayed yet, oldest first, filtered by reason or ids."""
    query = select(DeadLetter).where(DeadLetter.replayed_at.is_(None))
    if reason:
        query = query.where(DeadLetter.reason == reason)
    if ids:
        query = query.where(DeadLetter.id.in_(ids))
    with registry.session() as session:
        rows = session.scalars(query.order_by(DeadLetter.id).limit(limit)).all()
        return [ReplayItem(r.id, r.topic, r.reason, replay_payload(r.payload, r.device_id))
                for r in rows]


def replay_dead_letters(registry: Registry, items: list[ReplayItem], publish: Publish,
                        progress: Callable[[int], None] = lambda _n: None) -> int:
    """Publish each, then mark it replayed (a crash between the two replays it once more)."""
    done = 0
    for item in items:
        publish(item.topic, item.payload)
        with registry.session() as session:
            row = session.get(DeadLetter, item.id)
            if row is not None:
                row.replayed_at = datetime.now(UTC)
        done += 1
        progress(done)
    return done
