"""Dependencies as ``Annotated`` aliases: what a route needs, taken from the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ingest.store import TelemetryStore
from registry import Registry
from registry.broker_auth import BrokerAuth

__all__ = [
    "AppContext",
    "ApiOptions",
    "SettingsDep",
    "ContextDep",
    "RegistryDep",
    "StoreDep",
    "SessionDep",
    "NowMsDep",
    "get_context",
]


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """The API's part of the process settings (``dashboards`` cannot import ``collateral``)."""

    #: Let webhook URLs point at loopback or private networks (tests, the demo).
    webhook_allow_private: bool = False
    #: Mosquitto's password file and ACL to keep; None when the broker has no auth.
    broker_auth: BrokerAuth | None = None
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 1 << 20
    #: The deployment's hand-off partitions (``CW_PARTITIONS``): what the monitor must cover.
    total_partitions: int = 16


@dataclass(frozen=True, slots=True)
class AppContext:
    """Everything the routes share, set once by ``create_app``."""

    registry: Registry
    store: TelemetryStore
    now_ms: Callable[[], int]
    options: ApiOptions = field(default_factory=ApiOptions)

    def now(self) -> datetime:
        """``now_ms`` as a UTC datetime (the wall clock, or the tests' fixed one)."""
        return datetime.fromtimestamp(self.now_ms() / 1000, UTC)


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


def get_options(context: ContextDep) -> ApiOptions:
    return context.options


RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[ApiOptions, Depends(get_options)]
StoreDep = Annotated[TelemetryStore, Depends(get_store)]
NowMsDep = Annotated[int, Depends(get_now_ms)]


def get_session(registry: RegistryDep) -> Iterator[Session]:
    # Read-only routes still get a transaction: one consistent snapshot per request.
    with registry.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
