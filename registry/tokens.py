"""API tokens: ``cw_<id>_<secret>``; the registry keeps only SHA-256 of the secret.

The secret is 256 random bits, so a fast hash is enough (there is nothing to
brute-force); the id finds the row without scanning, and the comparison is
constant-time.

>>> token = new_token_text("abc123")
>>> split_token(token)[0]
'abc123'
>>> split_token("Bearer nonsense") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from registry.access import ApiToken, User
from registry.db import as_utc

__all__ = ["mint_token", "issue_token", "verify_token", "new_token_text", "split_token",
           "sha256_hex"]

_PREFIX = "cw_"


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_text(token_id: str) -> str:
    return f"{_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def split_token(text: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    if not text.startswith(_PREFIX):
        return None
    token_id, sep, secret = text[len(_PREFIX):].partition("_")
    if not sep or not token_id or len(secret) < 20 or not token_id.isalnum():
        return None
    return token_id, secret


def mint_token(session: Session, user_id: str, name: str = "",
               expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user_id``: the row (kept) and the text (shown once, never kept)."""
    token_id = secrets.token_hex(8)
    text = new_token_text(token_id)
    parts = split_token(text)
    assert parts is not None
    row = ApiToken(id=token_id, user_id=user_id, secret_sha256=sha256_hex(parts[1]), name=name,
                   created_at=datetime.now(UTC), expires_at=expires_at)
    session.add(row)
    return row, text


def verify_token(session: Session, text: str, now: datetime) -> User | None:
    """The enabled user a live token belongs to, or None (unknown, wrong, revoked, expired)."""
    parts = split_token(text)
    if parts is None:
        return None
    row = session.get(ApiToken, parts[0])
    if row is None or not hmac.compare_digest(row.secret_sha256, sha256_hex(parts[1])):
        return None
    if row.revoked_at is not None or (row.expires_at is not None and as_utc(row.expires_at) <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return user


def issue_token(session: Session, user_id: str, role: str, lender_id: str | None = None,
                name: str = "") -> str:
    """A token for ``user_id``, making the user first if missing (how the first admin starts)."""
    from registry.audit import record_audit

    user = session.get(User, user_id)
    if user is None:
        user = User(id=user_id, name=user_id, role=role, lender_id=lender_id,
                    created_at=datetime.now(UTC))
        session.add(user)
        session.flush()
        record_audit(session, "cli", "user.create", "user", user_id, lender_id, {"role": role})
    row, text = mint_token(session, user.id, name)
    record_audit(session, "cli", "token.create", "user", user.id, user.lender_id,
                 {"token_id": row.id})
    return text
