"""Who is calling, and which lenders' data they may see.

Every API route takes a ``Principal`` (from ``Authorization: Bearer cw_...``).
Roles decide which *kinds* of action a caller may take (403 otherwise); the
lender scope decides which *rows* exist for them: a row of a lender outside
the scope is answered exactly like a row that does not exist (404), so the
existence of another lender's data never leaks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dashboards.deps import SessionDep
from dashboards.problems import Problem
from registry.access import Role, User
from registry.models import Lender
from registry.tokens import verify_token

__all__ = [
    "Principal",
    "PrincipalDep",
    "principal_for",
    "require",
    "not_found",
    "READERS",
    "EDITORS",
    "ADMINS",
    "PROVISIONERS",
    "ALERT_ACTORS",
    "COOKIE",
    "PagePrincipalDep",
]

_bearer = HTTPBearer(auto_error=False, description="an API token: `collateral token create`")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    role: Role
    lender_id: str | None
    #: The lenders whose rows exist for this caller; None means every lender.
    lenders: frozenset[str] | None

    def sees(self, lender_id: str | None) -> bool:
        if self.lenders is None:
            return True
        return lender_id is not None and lender_id in self.lenders


def principal_for(session: Session, user: User) -> Principal:
    role = Role(user.role)
    return Principal(user.id, role, user.lender_id, _scope(session, role, user.lender_id))


def _scope(session: Session, role: Role, lender_id: str | None) -> frozenset[str] | None:
    if role is Role.ADMIN or (role is Role.PROVISIONER and lender_id is None):
        return None
    if lender_id is None:
        return frozenset()
    if role is not Role.ANALYST:
        return frozenset({lender_id})
    lender = session.get(Lender, lender_id)
    organisation = lender.organisation if lender is not None else None
    if organisation is None:
        return frozenset({lender_id})
    ids = session.scalars(select(Lender.id).where(
        or_(Lender.organisation == organisation, Lender.id == lender_id)))
    return frozenset(ids)


def get_principal(
    request: Request, session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthorised("send an API token: Authorization: Bearer cw_...")
    user = verify_token(session, credentials.credentials, datetime.now(UTC))
    if user is None:
        raise _unauthorised("the API token is unknown, revoked or expired")
    principal = principal_for(session, user)
    request.state.principal = principal
    return principal


def _unauthorised(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


PrincipalDep = Annotated[Principal, Depends(get_principal)]

READERS = frozenset(Role)
ADMINS = frozenset({Role.ADMIN})
EDITORS = frozenset({Role.ADMIN, Role.LENDER})
PROVISIONERS = frozenset({Role.ADMIN, Role.PROVISIONER})
ALERT_ACTORS = frozenset({Role.ADMIN, Role.ANALYST, Role.LENDER})


def require(roles: frozenset[Role]) -> Callable[[Principal], Principal]:
    """A dependency that lets only ``roles`` through (403 names what is needed)."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            needed = ", ".join(sorted(r.value for r in roles))
            raise Problem(403, f"role {principal.role.value} may not do this (needs {needed})")
        return principal

    return check


def not_found(noun: str, key: object) -> Problem:
    return Problem(404, f"no {noun} {key!r}")


COOKIE = "cw_token"


def get_page_principal(request: Request, session: SessionDep) -> Principal | None:
    """The page's caller, from the login cookie or a bearer header; None sends them to log in."""
    header = request.headers.get("authorization", "")
    text = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
    user = verify_token(session, text, datetime.now(UTC)) if text else None
    return principal_for(session, user) if user is not None else None


PagePrincipalDep = Annotated[Principal | None, Depends(get_page_principal)]
