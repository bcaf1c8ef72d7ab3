"""The audit log: one row per change, with who did it and when (wall clock, UTC)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from registry.access import AuditEntry

__all__ = ["record_audit"]

log = logging.getLogger(__name__)


def record_audit(session: Session, actor: str, action: str, target_type: str, target_id: str,
                 lender_id: str | None, detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry in the caller's transaction, so the change and its record commit together."""
    entry = AuditEntry(at=datetime.now(UTC), actor=actor, action=action, target_type=target_type,
                       target_id=target_id, lender_id=lender_id, detail=detail or {})
    session.add(entry)
    log.info("audit: %s %s %s/%s (lender %s)", actor, action, target_type, target_id, lender_id)
    return entry
