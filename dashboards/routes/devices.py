"""/api/devices: registering a tracker issues its MQTT credentials (shown once).

The registry keeps Mosquitto's hash of the password; after each change the
broker's password file and ACL are rebuilt and the broker reloaded, so the
device can publish only ``telemetry/{id}`` and ``status/{id}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from dashboards.auth import PROVISIONERS, Principal, PrincipalDep, require
from dashboards.changes import add_new
from dashboards.deps import RegistryDep, SessionDep, SettingsDep
from dashboards.lookups import in_scope, visible_asset, visible_device
from dashboards.params import Limit, Offset
from dashboards.registry_schemas import DeviceCredentials, DeviceIn, DeviceOut, DevicesOut
from dashboards.summaries import count_rows
from registry import Registry
from registry.audit import record_audit
from registry.broker_auth import BrokerAuth, device_topics, hash_password, new_password
from registry.models import Asset, Device, Loan

__all__ = ["router"]

router = APIRouter(prefix="/devices", tags=["devices"])

Provisioner = Annotated[Principal, Depends(require(PROVISIONERS))]


def _out(device: Device, lender_id: str) -> DeviceOut:
    return DeviceOut(id=device.id, asset_id=device.asset_id, lender_id=lender_id,
                     has_credentials=device.mqtt_password_hash is not None)


@router.get("", response_model=DevicesOut)
def read_devices(session: SessionDep, principal: PrincipalDep, asset_id: str | None = None,
                 limit: Limit = 100,
                 offset: Offset = 0) -> DevicesOut:
    statement = in_scope(select(Device, Loan.lender_id).join(Asset, Device.asset_id == Asset.id)
                         .join(Loan, Asset.loan_id == Loan.id).order_by(Device.id),
                         principal, Loan.lender_id)
    if asset_id is not None:
        statement = statement.where(Device.asset_id == asset_id)
    rows = session.execute(statement.limit(limit).offset(offset))
    return DevicesOut(data=[_out(d, lender) for d, lender in rows],
                      count=count_rows(session, statement))


@router.get("/{device_id}", response_model=DeviceOut)
def read_device(device_id: str, session: SessionDep, principal: PrincipalDep) -> DeviceOut:
    return _out(*visible_device(session, principal, device_id))


@router.post("", response_model=DeviceCredentials, status_code=status.HTTP_201_CREATED)
def create_device(body: DeviceIn, registry: RegistryDep, principal: Provisioner,
                  settings: SettingsDep) -> DeviceCredentials:
    """Register a device on an asset and issue its MQTT password (returned once)."""
    password = new_password()
    with registry.session() as session:
        _, lender_id = visible_asset(session, principal, body.asset_id)
        device = add_new(session, Device(id=body.id, asset_id=body.asset_id,
                                         mqtt_password_hash=hash_password(password)),
                         body.id, "device")
        record_audit(session, principal.user_id, "device.create", "device", body.id, lender_id,
                     {"asset_id": body.asset_id})
        out = _out(device, lender_id)
    _sync(registry, settings.broker_auth)
    return _credentials(out, password)


@router.post("/{device_id}/credentials", response_model=DeviceCredentials)
def rotate_device_credentials(device_id: str, registry: RegistryDep, principal: Provisioner,
                              settings: SettingsDep) -> DeviceCredentials:
    """A new MQTT password; the old one stops working when the broker reloads."""
    password = new_password()
    with registry.session() as session:
        device, lender_id = visible_device(session, principal, device_id)
        device.mqtt_password_hash = hash_password(password)
        record_audit(session, principal.user_id, "device.credentials", "device", device_id,
                     lender_id)
        out = _out(device, lender_id)
    _sync(registry, settings.broker_auth)
    return _credentials(out, password)


@router.delete("/{device_id}/credentials", status_code=status.HTTP_204_NO_CONTENT)
def revoke_device_credentials(device_id: str, registry: RegistryDep, principal: Provisioner,
                              settings: SettingsDep) -> None:
    """The device can no longer connect; its history stays."""
    with registry.session() as session:
        device, lender_id = visible_device(session, principal, device_id)
        device.mqtt_password_hash = None
        record_audit(session, principal.user_id, "device.revoke", "device", device_id, lender_id)
    _sync(registry, settings.broker_auth)


def _credentials(out: DeviceOut, password: str) -> DeviceCredentials:
    return DeviceCredentials(**out.model_dump(), mqtt_username=out.id, mqtt_password=password,
                             publish_topics=device_topics(out.id))


def _sync(registry: Registry, broker_auth: BrokerAuth | None) -> None:
    if broker_auth is not None:
        broker_auth.sync(registry)
