"""GET /api/loans and /api/loans/{loan_id}: warning levels, collateral, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboards.deps import SessionDep, StoreDep
from dashboards.params import iso_ms
from dashboards.schemas import LoanDetail, LoansPublic, WarningChangePublic
from dashboards.summaries import (
    asset_summaries,
    count_rows,
    loan_summaries,
    select_assets,
    select_loans,
)
from monitor.warning import WarningLevel
from registry.models import WarningChange

__all__ = ["router"]

router = APIRouter(prefix="/loans", tags=["loans"])

_HISTORY = 200  # newest warning changes shown with a loan


@router.get("", response_model=LoansPublic)
def read_loans(
    session: SessionDep,
    lender_id: str | None = None,
    warning_level: WarningLevel | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> LoansPublic:
    """Loans, most severe warning level first."""
    statement = select_loans(lender_id=lender_id,
                             warning_level=warning_level.value if warning_level else None)
    rows = session.execute(statement.limit(limit).offset(offset))
    return LoansPublic(data=loan_summaries(rows), count=count_rows(session, statement))


@router.get("/{loan_id}", response_model=LoanDetail,
            responses={404: {"description": "unknown loan"}})
def read_loan(loan_id: str, session: SessionDep, store: StoreDep) -> LoanDetail:
    found = loan_summaries(session.execute(select_loans(loan_id=loan_id)))
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
