"""Dead letters: bad input kept with its reason and raw bytes, never dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from ingest.wire import Rejection
from registry import Registry
from registry.models import DeadLetter

__all__ = ["DeadLetterRecord", "save_dead_letters", "dead_letter_counts"]


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    topic: str
    rejection: Rejection


def save_dead_letters(registry: Registry, records: Sequence[DeadLetterRecord]) -> None:
    """Persist in one transaction, so a batch is either all kept or retried."""
    if not records:
        return
    now = datetime.now(UTC)
    with registry.session() as session:
        session.add_all(
            DeadLetter(
                received_at=now,
                topic=r.topic[:300],
                device_id=(r.rejection.device_id or None) and r.rejection.device_id[:64],
                reason=r.rejection.reason.value,
                detail=r.rejection.detail[:2000],
                payload=r.rejection.raw,
            )
            for r in records
        )


def dead_letter_counts(registry: Registry) -> dict[str, int]:
    with registry.session() as session:
        rows = session.execute(
            select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
        ).all()
    return {reason: int(count) for reason, count in rows}
