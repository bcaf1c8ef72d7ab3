"""The registry's tables: who lent what against which asset, and what happened.

Times of device events (alerts, warning changes) are device-time epoch ms,
like the telemetry they come from; times of platform events (dead letters,
webhook deliveries) are wall-clock UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Lender",
    "Loan",
    "LoanStatus",
    "WEBHOOK_EVENT_TYPES",
    "Asset",
    "Device",
    "Alert",
    "WarningChange",
    "OutboxEvent",
    "DeadLetter",
    "Checkpoint",
    "MonitorWorker",
]


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[dict[str, Any]]: JSON}


#: Every event type a lender may receive, and subscribe to (``Lender.webhook_events``): the
#: alert lifecycle's, the loan warning level's and the loan's closing or reopening.
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    "alert.opened", "alert.updated", "alert.resolved", "alert.reopened", "alert.reminder",
    "alert.acknowledged", "alert.snoozed", "loan.warning_changed", "loan.status_changed",
    "platform.coverage_changed")


class LoanStatus(StrEnum):
    ACTIVE = "active"  # its collateral is watched
    CLOSED = "closed"  # repaid or settled: its collateral is released, no longer watched


class Lender(Base):
    __tablename__ = "lenders"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    #: The event types the lender subscribes to (None: all of them).
    webhook_events: Mapped[list[str] | None] = mapped_column(JSON)
    # Issue 6: lenders of one organisation share risk analysts; during a secret
    # rotation deliveries are signed with both secrets until the old one expires.
    organisation: Mapped[str | None] = mapped_column(String(64), index=True)
    webhook_previous_secret: Mapped[str | None] = mapped_column(String(200))
    webhook_previous_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    loans: Mapped[list[Loan]] = relationship(back_populates="lender")


class Loan(Base):
    __tablename__ = "loans"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lender_id: Mapped[str] = mapped_column(ForeignKey("lenders.id"), index=True)
    borrower: Mapped[str] = mapped_column(String(200))
    principal: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    warning_level: Mapped[str] = mapped_column(String(16), default="normal")
    warning_reason: Mapped[str] = mapped_column(Text, default="")
    warning_changed_ms: Mapped[int | None] = mapped_column(BigInteger)
    borrower_id: Mapped[str | None] = mapped_column(ForeignKey("borrowers.id"), index=True)
    #: A LoanStatus: a closed loan (repaid or settled) has released its collateral, which
    #: is no longer watched.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active",
                                        index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lender: Mapped[Lender] = relationship(back_populates="loans")
    assets: Mapped[list[Asset]] = relationship(back_populates="loan")


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # {"lat", "lon", "radius_m"} or {"lat", "lon", "polygon": [[lon, lat], ...]}
    site: Mapped[dict[str, Any]] = mapped_column(JSON)
    cadence_s: Mapped[float] = mapped_column(Float, default=300.0)
    idle_after_s: Mapped[float] = mapped_column(Float, default=12 * 3600.0)
    geofence_dwell_s: Mapped[float] = mapped_column(Float, default=600.0)
    # The rest of the pledge's terms (issue 6): a GeoJSON Polygon the asset may work in,
    # the expected duty schedule, and windows [{start, end, reason}] when it may be
    # off (planned downtime) or away (approved moves) without an alarm.
    operating_area: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    duty_schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    planned_downtime: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list,
                                                                  server_default="[]")
    approved_moves: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list,
                                                                server_default="[]")
    loan: Mapped[Loan] = relationship(back_populates="assets")
    devices: Mapped[list[Device]] = relationship(back_populates="asset")


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    # Mosquitto's own hash ($7$ PBKDF2-SHA512) of the device's MQTT password: the
    # broker's password file is rebuilt from these; the password itself is never kept.
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(300))
    asset: Mapped[Asset] = relationship(back_populates="devices")


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    opened_at_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)
    resolved_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    __table_args__ = (
        # At most one open alert per (asset, kind): the database enforces the dedup key.
        Index(
            "uq_alert_open",
            "asset_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class WarningChange(Base):
    __tablename__ = "warning_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    previous: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    at_ms: Mapped[int] = mapped_column(BigInteger)


class OutboxEvent(Base):
    """One event for one lender, kept until its webhook is delivered or given up."""

    __tablename__ = "webhook_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    lender_id: Mapped[str] = mapped_column(ForeignKey("lenders.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    topic: Mapped[str] = mapped_column(String(300))
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # sha256 of topic, reason and payload: a broker redelivery of a message already
    # kept is recognised by it and not counted twice.
    digest: Mapped[str | None] = mapped_column(String(64), index=True)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Checkpoint(Base):
    """Opaque JSON state a service saves to survive restarts (e.g. detector state)."""

    __tablename__ = "checkpoints"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MonitorWorker(Base):
    """A monitor worker's word on which hand-off partitions it judges, and when it last said so.

    Written at start, with every checkpoint and at a clean stop, so the API can
    tell a risk team which partitions (and so which assets) nobody is watching.
    """

    __tablename__ = "monitor_workers"
    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    partitions: Mapped[list[int]] = mapped_column(JSON)
    total_partitions: Mapped[int] = mapped_column(Integer)
    checkpoint_s: Mapped[float] = mapped_column(Float)
    watermark_ms: Mapped[int] = mapped_column(BigInteger)  # newest device time it has judged
    readings_seen: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The access tables share this metadata; importing them here keeps it whole for
# every user of the models (create_all, migrations, tests).
import registry.access  # noqa: E402,F401
