"""Rows as a caller may see them: another lender's row is answered as missing (404)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from dashboards.auth import Principal, not_found
from registry.access import Borrower
from registry.models import Alert, Asset, Device, Lender, Loan

__all__ = ["visible_lender", "visible_borrower", "visible_loan", "visible_asset",
           "visible_device", "visible_alert", "in_scope"]


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def in_scope(statement: S, principal: Principal,
             column: InstrumentedAttribute[Any] | ColumnElement[Any]) -> S:
    """``statement`` limited to the caller's lenders through ``column`` (a lender id)."""
    if principal.lenders is None:
        return statement
    return statement.where(column.in_(principal.lenders))


def visible_lender(session: Session, principal: Principal, lender_id: str) -> Lender:
    lender = session.get(Lender, lender_id)
    if lender is None or not principal.sees(lender.id):
        raise not_found("lender", lender_id)
    return lender


def visible_borrower(session: Session, principal: Principal, borrower_id: str) -> Borrower:
    borrower = session.get(Borrower, borrower_id)
    if borrower is None or not principal.sees(borrower.lender_id):
        raise not_found("borrower", borrower_id)
    return borrower


def visible_loan(session: Session, principal: Principal, loan_id: str) -> Loan:
    loan = session.get(Loan, loan_id)
    if loan is None or not principal.sees(loan.lender_id):
        raise not_found("loan", loan_id)
    return loan


def _lender_of_asset(session: Session, asset: Asset) -> str:
    return str(session.scalar(select(Loan.lender_id).where(Loan.id == asset.loan_id)))


def visible_asset(session: Session, principal: Principal, asset_id: str) -> tuple[Asset, str]:
    """The asset and its lender's id."""
    asset = session.get(Asset, asset_id)
    lender_id = _lender_of_asset(session, asset) if asset is not None else None
    if asset is None or lender_id is None or not principal.sees(lender_id):
        raise not_found("asset", asset_id)
    return asset, lender_id


def visible_device(session: Session, principal: Principal, device_id: str) -> tuple[Device, str]:
    device = session.get(Device, device_id)
    if device is None:
        raise not_found("device", device_id)
    asset = session.get(Asset, device.asset_id)
    lender_id = _lender_of_asset(session, asset) if asset is not None else None
    if lender_id is None or not principal.sees(lender_id):
        raise not_found("device", device_id)
    return device, lender_id


def visible_alert(session: Session, principal: Principal, alert_id: int) -> tuple[Alert, str]:
    alert = session.get(Alert, alert_id)
    asset = session.get(Asset, alert.asset_id) if alert is not None else None
    lender_id = _lender_of_asset(session, asset) if asset is not None else None
    if alert is None or lender_id is None or not principal.sees(lender_id):
        raise not_found("alert", alert_id)
    return alert, lender_id
