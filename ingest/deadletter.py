"""Dead letters: bad input kept with its reason and raw bytes, never dropped.

A message the broker redelivers (MQTT's DUP flag: ingest kept its dead letter
but could not acknowledge it, say because the connection broke) is kept only
if no dead letter with the same topic, reason and bytes exists yet, so the
counts by reason stay exact. A device that sends the same bad bytes twice as
new messages gets two records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from ingest.wire import Rejection
from registry import Registry
from registry.models import DeadLetter

__all__ = ["DeadLetterRecord", "save_dead_letters", "dead_letter_counts", "prune_dead_letters"]


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    topic: str
    rejection: Rejection
    redelivered: bool = False  # the broker's DUP flag was set

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for part in (self.topic.encode(), self.rejection.reason.value.encode(),
                     self.rejection.raw):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return h.hexdigest()


def save_dead_letters(registry: Registry,
                      records: Sequence[DeadLetterRecord]) -> list[DeadLetterRecord]:
    """Persist in one transaction, so a batch is either all kept or retried.

    Returns the records kept: redelivered ones already on file are skipped.
    """
    if not records:
        return []
    now = datetime.now(UTC)
    with registry.session() as session:
        known: set[str | None] = set()
        redelivered = [r.digest for r in records if r.redelivered]
        if redelivered:
            known = set(session.scalars(
                select(DeadLetter.digest).where(DeadLetter.digest.in_(redelivered))))
        kept = [r for r in records if not (r.redelivered and r.digest in known)]
        session.add_all(
            DeadLetter(
                received_at=now,
                topic=r.topic[:300],
                device_id=(r.rejection.device_id or None) and r.rejection.device_id[:64],
                reason=r.rejection.reason.value,
                detail=r.rejection.detail[:2000],
                payload=r.rejection.raw,
                digest=r.digest,
            )
            for r in kept
        )
    return kept


def dead_letter_counts(registry: Registry) -> dict[str, int]:
    with registry.session() as session:
        rows = session.execute(
            select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
        ).all()
    return {reason: int(count) for reason, count in rows}


def prune_dead_letters(registry: Registry, older_than: datetime) -> int:
    """Delete the dead letters received before ``older_than``; how many went.

    Their counts by reason live on in the ingest's metrics; the rows (raw bytes
    of up to the payload limit each) would otherwise grow without end, however
    much a broken or hostile tracker sends.
    """
    with registry.session() as session:
        result = session.execute(delete(DeadLetter).where(DeadLetter.received_at < older_than)
                                 .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
