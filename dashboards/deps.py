"""Dependencies as ``Annotated`` aliases: what a route needs, taken from the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ingest.store import TelemetryStore
from registry import Registry

__all__ = [
    "AppContext",
    "ContextDep",
    "RegistryDep",
    "StoreDep",
    "SessionDep",
    "NowMsDep",
    "get_context",
]


@dataclass(frozen=True, slots=True)
class AppContext:
    """Everything the routes share, set once by ``create_app``."""

    registry: Registry
    store: TelemetryStore
    now_ms: Callable[[], int]


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_registry(context: ContextDep) -> Registry:
    return context.registry


def get_store(context: ContextDep) -> TelemetryStore:
    return context.store


def get_now_ms(context: ContextDep) -> int:
    return context.now_ms()


RegistryDep = Annotated[Registry, Depends(get_registry)]
StoreDep = Annotated[TelemetryStore, Depends(get_store)]
NowMsDep = Annotated[int, Depends(get_now_ms)]


def get_session(registry: RegistryDep) -> Iterator[Session]:
    # Read-only routes still get a transaction: one consistent snapshot per request.
    with registry.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
