"""/api/borrowers: who holds the collateral, per lender."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from dashboards.auth import EDITORS, Principal, PrincipalDep, require
from dashboards.changes import add_new, apply_patch
from dashboards.deps import SessionDep
from dashboards.lookups import in_scope, visible_borrower, visible_lender
from dashboards.params import Limit, Offset
from dashboards.registry_schemas import BorrowerIn, BorrowerOut, BorrowerPatch, BorrowersOut
from dashboards.summaries import count_rows
from registry.access import Borrower
from registry.audit import record_audit

__all__ = ["router"]

router = APIRouter(prefix="/borrowers", tags=["borrowers"])

Editor = Annotated[Principal, Depends(require(EDITORS))]


def _out(row: Borrower) -> BorrowerOut:
    return BorrowerOut(id=row.id, lender_id=row.lender_id, name=row.name, contact=row.contact)


@router.get("", response_model=BorrowersOut)
def read_borrowers(session: SessionDep, principal: PrincipalDep, lender_id: str | None = None,
                   name: str | None = None, limit: Limit = 100,
                   offset: Offset = 0) -> BorrowersOut:
    statement = in_scope(select(Borrower).order_by(Borrower.id), principal, Borrower.lender_id)
    if lender_id is not None:
        statement = statement.where(Borrower.lender_id == lender_id)
    if name is not None:
        statement = statement.where(Borrower.name.contains(name, autoescape=True))
    rows = session.scalars(statement.limit(limit).offset(offset))
    return BorrowersOut(data=[_out(x) for x in rows], count=count_rows(session, statement))


@router.post("", response_model=BorrowerOut, status_code=status.HTTP_201_CREATED)
def create_borrower(body: BorrowerIn, session: SessionDep, principal: Editor) -> BorrowerOut:
    visible_lender(session, principal, body.lender_id)
    row = add_new(session, Borrower(**body.model_dump()), body.id, "borrower")
    record_audit(session, principal.user_id, "borrower.create", "borrower", body.id,
                 body.lender_id, body.model_dump())
    return _out(row)


@router.get("/{borrower_id}", response_model=BorrowerOut)
def read_borrower(borrower_id: str, session: SessionDep, principal: PrincipalDep) -> BorrowerOut:
    return _out(visible_borrower(session, principal, borrower_id))


@router.patch("/{borrower_id}", response_model=BorrowerOut)
def update_borrower(borrower_id: str, body: BorrowerPatch, session: SessionDep,
                    principal: Editor) -> BorrowerOut:
    row = visible_borrower(session, principal, borrower_id)
    changes = apply_patch(row, body.model_dump(exclude_unset=True), ("name",))
    record_audit(session, principal.user_id, "borrower.update", "borrower", borrower_id,
                 row.lender_id, changes)
    return _out(row)
