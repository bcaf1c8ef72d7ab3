"""Who may do what, and what they did: borrowers, users, API tokens, alert history, audit log.

Tables of issue 6, beside the spine's in ``registry.models`` (same metadata).
Times here are wall-clock UTC datetimes: these are platform events.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.models import Base

__all__ = ["Role", "Borrower", "User", "ApiToken", "AlertEvent", "AuditEntry"]


class Role(StrEnum):
    ADMIN = "admin"  # everything, every lender
    ANALYST = "analyst"  # every lender of the user's organisation
    LENDER = "lender"  # the user's own lender only
    PROVISIONER = "provisioner"  # devices (of the user's lender, or all if none)


class Borrower(Base):
    __tablename__ = "borrowers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lender_id: Mapped[str] = mapped_column(ForeignKey("lenders.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(300))


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    lender_id: Mapped[str | None] = mapped_column(ForeignKey("lenders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token ``cw_<id>_<secret>``: only the secret's SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertEvent(Base):
    """One step in an alert's life: acknowledged, resolved, snoozed, a note; by whom."""

    __tablename__ = "alert_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True,
                                                   default=None)  # a snooze's end


class AuditEntry(Base):
    """Every change made through the API or CLI: who, when, what, on which lender's data."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(200))
    lender_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
