"""/api/users and their API tokens; /api/audit, the record of every change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from dashboards.auth import ADMINS, Principal, PrincipalDep, not_found, require
from dashboards.changes import add_new
from dashboards.deps import SessionDep
from dashboards.lookups import in_scope, visible_lender
from dashboards.params import Limit, Offset
from dashboards.problems import Problem
from dashboards.registry_schemas import (
    AuditOut,
    AuditPage,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UsersOut,
)
from dashboards.summaries import count_rows
from registry.access import ApiToken, AuditEntry, Role, User
from registry.audit import record_audit
from registry.db import as_utc
from registry.tokens import mint_token

__all__ = ["router", "audit_router"]

router = APIRouter(prefix="/users", tags=["users"])
audit_router = APIRouter(prefix="/audit", tags=["audit"])

Admin = Annotated[Principal, Depends(require(ADMINS))]


def _out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, role=user.role, lender_id=user.lender_id,
                   disabled=user.disabled_at is not None)


def _visible_user(session: SessionDep, principal: Principal, user_id: str) -> User:
    # Users are seen by admins, and each user sees itself.
    user = session.get(User, user_id)
    if user is None or (principal.role is not Role.ADMIN and user.id != principal.user_id):
        raise not_found("user", user_id)
    return user


@router.get("", response_model=UsersOut)
def read_users(session: SessionDep, principal: Admin, role: Role | None = None,
               lender_id: str | None = None, limit: Limit = 100, offset: Offset = 0) -> UsersOut:
    statement = select(User).order_by(User.id)
    if role is not None:
        statement = statement.where(User.role == role.value)
    if lender_id is not None:
        statement = statement.where(User.lender_id == lender_id)
    rows = session.scalars(statement.limit(limit).offset(offset))
    return UsersOut(data=[_out(u) for u in rows], count=count_rows(session, statement))


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, session: SessionDep, principal: Admin) -> UserOut:
    if body.role in (Role.LENDER, Role.ANALYST) and body.lender_id is None:
        raise Problem(422, f"a {body.role.value} user needs a lender_id")
    if body.lender_id is not None:
        visible_lender(session, principal, body.lender_id)
    user = add_new(session, User(**body.model_dump(), created_at=datetime.now(UTC)), body.id,
                   "user")
    record_audit(session, principal.user_id, "user.create", "user", body.id, body.lender_id,
                 {"role": body.role.value})
    return _out(user)


@router.get("/{user_id}", response_model=UserOut)
def read_user(user_id: str, session: SessionDep, principal: PrincipalDep) -> UserOut:
    return _out(_visible_user(session, principal, user_id))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def disable_user(user_id: str, session: SessionDep, principal: Admin) -> None:
    """Disable a user and revoke its tokens; its name stays in the audit log."""
    user = _visible_user(session, principal, user_id)
    if user.id == principal.user_id:
        raise Problem(409, "an admin cannot disable itself")
    now = datetime.now(UTC)
    user.disabled_at = user.disabled_at or now
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                        ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
    record_audit(session, principal.user_id, "user.disable", "user", user.id, user.lender_id)


@router.post("/{user_id}/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
def create_token(user_id: str, body: TokenIn, session: SessionDep,
                 principal: PrincipalDep) -> TokenOut:
    """A new API token (admins for anyone, others for themselves); shown once."""
    user = _visible_user(session, principal, user_id)
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise Problem(422, "expires_at needs a time zone (e.g. a trailing Z)")
    row, text = mint_token(session, user.id, body.name, body.expires_at)
    record_audit(session, principal.user_id, "token.create", "user", user.id, user.lender_id,
                 {"token_id": row.id})
    return TokenOut(id=row.id, user_id=user.id, token=text, expires_at=row.expires_at)


@router.delete("/{user_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(user_id: str, token_id: str, session: SessionDep,
                 principal: PrincipalDep) -> None:
    user = _visible_user(session, principal, user_id)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise not_found("token", token_id)
    token.revoked_at = datetime.now(UTC)
    record_audit(session, principal.user_id, "token.revoke", "user", user.id, user.lender_id,
                 {"token_id": token_id})


@audit_router.get("", response_model=AuditPage)
def read_audit(session: SessionDep, principal: PrincipalDep, actor: str | None = None,
               action: str | None = None, target_type: str | None = None,
               target_id: str | None = None, lender_id: str | None = None,
               limit: Limit = 100, offset: Offset = 0) -> AuditPage:
    """Newest first; a caller sees the entries about the lenders in its scope."""
    statement = in_scope(select(AuditEntry).order_by(AuditEntry.id.desc()), principal,
                         AuditEntry.lender_id)
    for column, value in ((AuditEntry.actor, actor), (AuditEntry.action, action),
                          (AuditEntry.target_type, target_type),
                          (AuditEntry.target_id, target_id), (AuditEntry.lender_id, lender_id)):
        if value is not None:
            statement = statement.where(column == value)
    rows = session.scalars(statement.limit(limit).offset(offset))
    return AuditPage(data=[_audit_out(e) for e in rows], count=count_rows(session, statement))


def _audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(id=entry.id, at=as_utc(entry.at), actor=entry.actor, action=entry.action,
                    target_type=entry.target_type, target_id=entry.target_id,
                    lender_id=entry.lender_id, detail=dict(entry.detail))
