"""Request and response models of the registry API (issue 6): what callers send and see.

Ids are short and safe everywhere they travel (URLs, MQTT topics, Mosquitto's
password file): letters, digits, ``.``, ``_`` and ``-``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.alert_actions import RECORDED
from registry.access import Role
from registry.fleet_io import AssetKind, WebhookEvents, WindowIn
from registry.geo import PolygonGeometry, SiteFeature
from registry.models import LoanStatus

__all__ = [
    "Id", "Name", "Page",
    "LenderIn", "LenderPatch", "LenderOut", "LendersOut",
    "BorrowerIn", "BorrowerPatch", "BorrowerOut", "BorrowersOut",
    "LoanIn", "LoanPatch",
    "PledgeIn", "PledgeOut", "AssetIn", "AssetPatch",
    "DeviceIn", "DeviceOut", "DevicesOut", "DeviceCredentials",
    "UserIn", "UserOut", "UsersOut", "TokenIn", "TokenOut",
    "WebhookIn", "WebhookOut", "WebhookSecretOut", "DeliveryOut", "DeliveriesOut",
    "RedeliverIn", "RedeliverOut",
    "AuditOut", "AuditPage", "AlertActionIn", "AlertEventOut",
]

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                          description="letters, digits, '.', '_' and '-'; at most 64")]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    count: int


class LenderIn(_In):
    id: Id
    name: Name
    organisation: Id | None = None


class LenderPatch(_In):
    name: Name | None = None
    organisation: Id | None = None


class LenderOut(BaseModel):
    id: str
    name: str
    organisation: str | None
    webhook_configured: bool


class LendersOut(Page):
    data: list[LenderOut]


class BorrowerIn(_In):
    id: Id
    lender_id: Id
    name: Name
    contact: Annotated[str, Field(max_length=300)] | None = None


class BorrowerPatch(_In):
    name: Name | None = None
    contact: Annotated[str, Field(max_length=300)] | None = None


class BorrowerOut(BaseModel):
    id: str
    lender_id: str
    name: str
    contact: str | None


class BorrowersOut(Page):
    data: list[BorrowerOut]


Money = Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class LoanIn(_In):
    id: Id
    lender_id: Id
    borrower: Name
    borrower_id: Id | None = None
    principal: Money | None = None
    currency: Currency | None = None


class LoanPatch(_In):
    borrower: Name | None = None
    borrower_id: Id | None = None
    principal: Money | None = None
    currency: Currency | None = None
    #: "closed" when the loan is repaid or settled: its collateral is released and no longer
    #: watched, and what is open on it is resolved; "active" watches it again.
    status: LoanStatus | None = None


class PledgeIn(_In):
    """The terms an asset is pledged on; the site is a GeoJSON Feature."""

    site: SiteFeature
    operating_area: PolygonGeometry | None = None
    duty_schedule: dict[str, Any] | None = Field(default=None, max_length=50)
    planned_downtime: list[WindowIn] = Field(default=[], max_length=1000)
    approved_moves: list[WindowIn] = Field(default=[], max_length=1000)
    geofence_dwell_s: Annotated[float, Field(ge=0, le=30 * 86400)] = 600.0


class PledgeOut(BaseModel):
    asset_id: str
    loan_id: str
    site: dict[str, Any]
    operating_area: dict[str, Any] | None
    duty_schedule: dict[str, Any] | None
    planned_downtime: list[dict[str, Any]]
    approved_moves: list[dict[str, Any]]
    geofence_dwell_s: float


class AssetIn(_In):
    id: Id
    loan_id: Id
    kind: AssetKind
    name: Name
    cadence_s: Annotated[float, Field(gt=0, le=30 * 86400)] = 300.0
    idle_after_s: Annotated[float, Field(gt=0, le=365 * 86400)] = 12 * 3600.0
    pledge: PledgeIn


class AssetPatch(_In):
    name: Name | None = None
    cadence_s: Annotated[float, Field(gt=0, le=30 * 86400)] | None = None
    idle_after_s: Annotated[float, Field(gt=0, le=365 * 86400)] | None = None


class DeviceIn(_In):
    id: Id
    asset_id: Id


class DeviceOut(BaseModel):
    id: str
    asset_id: str
    lender_id: str
    has_credentials: bool


class DevicesOut(Page):
    data: list[DeviceOut]


class DeviceCredentials(DeviceOut):
    """Shown once, when issued: the platform keeps only the broker's hash."""

    mqtt_username: str
    mqtt_password: str
    publish_topics: list[str]


class UserIn(_In):
    id: Id
    name: Name
    role: Role
    lender_id: Id | None = None


class UserOut(BaseModel):
    id: str
    name: str
    role: str
    lender_id: str | None
    disabled: bool


class UsersOut(Page):
    data: list[UserOut]


class TokenIn(_In):
    name: Annotated[str, Field(max_length=200)] = ""
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    id: str
    user_id: str
    token: str = Field(description="shown once; only its hash is kept")
    expires_at: datetime | None


class WebhookIn(_In):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    #: The event types to send (the others are marked skipped); null or absent: all.
    events: WebhookEvents | None = None


class WebhookOut(BaseModel):
    lender_id: str
    url: str | None
    rotating_until: datetime | None
    events: list[str] | None  # subscribed event types; null: all


class WebhookSecretOut(WebhookOut):
    secret: str | None = Field(description="whsec_...; shown once, when generated, else null")


class DeliveryOut(BaseModel):
    """One event of the lender's webhook outbox and how its delivery went."""

    event_id: str  # the webhook-id header: stable across retries and redeliveries
    event_type: str
    created_at: datetime
    status: str  # pending (due at next_attempt_at), delivered, or failed (given up)
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None  # the lender's last HTTP status
    last_error: str | None
    payload: dict[str, Any]  # the signed body, as sent


class DeliveriesOut(Page):
    data: list[DeliveryOut]


class RedeliverIn(_In):
    #: Failed events created at or after this time (with its zone) are sent again.
    since: datetime

    @model_validator(mode="after")
    def _since_has_a_zone(self) -> RedeliverIn:
        if self.since.tzinfo is None:
            raise ValueError("since needs its time zone (e.g. 2026-12-01T00:00Z)")
        return self


class RedeliverOut(BaseModel):
    requeued: int  # failed events set pending again, with a fresh round of attempts


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    lender_id: str | None
    detail: dict[str, Any]


class AuditPage(Page):
    data: list[AuditOut]


class AlertActionIn(_In):
    action: Annotated[str, Field(pattern=f"^({'|'.join(RECORDED)})$")]
    note: Annotated[str, Field(max_length=2000)] = ""
    #: A snooze's end, with its time zone: updates and reminders wait until then.
    until: datetime | None = None

    @model_validator(mode="after")
    def _until_only_for_snooze(self) -> AlertActionIn:
        if self.action != "snooze":
            if self.until is not None:
                raise ValueError(f"until is for snooze, not {self.action}")
            return self
        if self.until is None or self.until.tzinfo is None:
            raise ValueError("snooze needs until, a time with its zone (e.g. 2026-12-01T18:00Z)")
        if self.until <= datetime.now(UTC):
            raise ValueError("snooze must end in the future")
        return self


class AlertEventOut(BaseModel):
    id: int
    alert_id: int
    at: datetime
    actor: str
    action: str
    note: str
    until: datetime | None = None
