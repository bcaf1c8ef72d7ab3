"""/api/loans: warning levels, collateral, history; lenders and admins add and change loans."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboards.auth import EDITORS, Principal, PrincipalDep, require
from dashboards.changes import add_new, apply_patch
from dashboards.deps import SessionDep, StoreDep
from dashboards.lookups import visible_borrower, visible_lender, visible_loan
from dashboards.params import Limit, Offset
from dashboards.problems import Problem
from dashboards.registry_schemas import LoanIn, LoanPatch
from dashboards.schemas import LoanDetail, LoanPublic, LoansPublic, WarningChangePublic
from dashboards.summaries import (
    asset_summaries,
    count_rows,
    loan_summaries,
    select_assets,
    select_loans,
)
from ingest.store import TelemetryStore
from monitor.outbox import enqueue_event
from monitor.warning import WarningLevel
from registry.audit import record_audit
from registry.db import iso_ms, iso_z
from registry.models import Loan, LoanStatus, WarningChange

__all__ = ["router", "loan_detail", "change_loan"]

router = APIRouter(prefix="/loans", tags=["loans"])

_HISTORY = 200  # newest warning changes shown with a loan


@router.get("", response_model=LoansPublic)
def read_loans(
    session: SessionDep,
    principal: PrincipalDep,
    lender_id: str | None = None,
    warning_level: WarningLevel | None = None,
    status: LoanStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> LoansPublic:
    """Loans, most severe warning level first; ``status`` active or closed."""
    statement = select_loans(lender_id=lender_id,
                             warning_level=warning_level.value if warning_level else None,
                             status=status.value if status else None,
                             lenders=principal.lenders)
    rows = session.execute(statement.limit(limit).offset(offset))
    return LoansPublic(data=loan_summaries(rows), count=count_rows(session, statement))


@router.get("/{loan_id}", response_model=LoanDetail,
            responses={404: {"description": "unknown loan"}})
def read_loan(loan_id: str, session: SessionDep, store: StoreDep,
              principal: PrincipalDep) -> LoanDetail:
    return loan_detail(session, store, principal, loan_id)


def loan_detail(session: Session, store: TelemetryStore | None, principal: Principal,
                loan_id: str) -> LoanDetail:
    """One loan with its assets (their last readings unless ``store`` is None) and warning
    history; 404 unless the caller sees it."""
    found = loan_summaries(session.execute(select_loans(loan_id=loan_id,
                                                        lenders=principal.lenders)))
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no loan {loan_id!r}")
    rows = [(asset, lender) for asset, lender in
            session.execute(select_assets(loan_id=loan_id))]
    return LoanDetail(**found[0].model_dump(), assets=asset_summaries(session, store, rows),
                      warning_history=_history(session, loan_id))


def _history(session: Session, loan_id: str) -> list[WarningChangePublic]:
    changes = session.scalars(
        select(WarningChange).where(WarningChange.loan_id == loan_id)
        .order_by(WarningChange.at_ms.desc(), WarningChange.id.desc()).limit(_HISTORY))
    return [WarningChangePublic(level=c.level, previous=c.previous, reason=c.reason,
                                at_ms=c.at_ms, at=iso_ms(c.at_ms)) for c in changes]


# -- changes (issue 6) ----------------------------------------------------------------------

Editor = Annotated[Principal, Depends(require(EDITORS))]


def _summary(session: Session, loan_id: str) -> LoanPublic:
    return loan_summaries(session.execute(select_loans(loan_id=loan_id)))[0]


@router.post("", response_model=LoanPublic, status_code=status.HTTP_201_CREATED)
def create_loan(body: LoanIn, session: SessionDep, principal: Editor) -> LoanPublic:
    visible_lender(session, principal, body.lender_id)
    _check_borrower(session, principal, body.borrower_id, body.lender_id)
    add_new(session, Loan(**body.model_dump()), body.id, "loan")
    session.flush()
    record_audit(session, principal.user_id, "loan.create", "loan", body.id, body.lender_id,
                 body.model_dump())
    return _summary(session, body.id)


@router.patch("/{loan_id}", response_model=LoanPublic)
def update_loan(loan_id: str, body: LoanPatch, session: SessionDep,
                principal: Editor) -> LoanPublic:
    return change_loan(session, principal, loan_id, body.model_dump(exclude_unset=True,
                                                                    mode="json"))


def change_loan(session: Session, principal: Principal, loan_id: str,
                changes: dict[str, Any]) -> LoanPublic:
    """Apply a loan PATCH's ``changes`` (the API's and the loan page's close/reopen), audited;
    closing sets ``closed_at`` and the monitor releases the collateral at its next refresh."""
    loan = visible_loan(session, principal, loan_id)
    _check_borrower(session, principal, changes.get("borrower_id"), loan.lender_id)
    status_changed = changes.get("status", loan.status) != loan.status
    apply_patch(loan, changes, ("borrower", "status"))
    if status_changed:  # the monitor resolves its collateral's alerts at its next pledge refresh
        now = datetime.now(UTC)
        loan.closed_at = now if loan.status == LoanStatus.CLOSED else None
        # The lender's systems hear of it in the same transaction (whoever changed it).
        enqueue_event(session, lender_id=loan.lender_id, event_type="loan.status_changed",
                      data={"loan_id": loan_id, "status": loan.status, "by": principal.user_id,
                            "at": iso_z(now)},
                      event_id=f"loan-status-{uuid4().hex}",
                      occurred_at=now)
    session.flush()
    record_audit(session, principal.user_id, "loan.update", "loan", loan_id, loan.lender_id,
                 changes)
    return _summary(session, loan_id)


def _check_borrower(session: Session, principal: Principal, borrower_id: str | None,
                    lender_id: str) -> None:
    if borrower_id is None:
        return
    borrower = visible_borrower(session, principal, borrower_id)
    if borrower.lender_id != lender_id:
        raise Problem(422, f"borrower {borrower_id!r} belongs to another lender")
