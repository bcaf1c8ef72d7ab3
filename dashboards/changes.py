"""The two moves every write route makes: add a new row, or apply a PATCH to one."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from dashboards.problems import Problem
from registry.models import Base

__all__ = ["add_new", "apply_patch"]

Row = TypeVar("Row", bound=Base)


def add_new(session: Session, row: Row, key: str, noun: str) -> Row:
    """Add ``row`` unless its id is taken (409 saying which)."""
    if session.get(type(row), key) is not None:
        raise Problem(409, f"{noun} {key!r} exists")
    session.add(row)
    return row


def apply_patch(row: Base, changes: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """Set the fields a PATCH sent; a required field cannot be set to null (422)."""
    for key in required:
        if key in changes and changes[key] is None:
            raise Problem(422, f"{key} cannot be null")
    for key, value in changes.items():
        setattr(row, key, value)
    return changes
