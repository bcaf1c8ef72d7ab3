"""Fixtures for monitor tests that need a registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry import Registry, import_fleet
from tests.integration.helpers import small_fleet

RegistryWith = Callable[..., Registry]


@pytest.fixture()
def registry_with(tmp_path: Path) -> Iterator[RegistryWith]:
    """``registry_with(fleet=None, name="r.db")``: a SQLite registry in ``tmp_path`` holding
    ``fleet`` (default: the integration tests' one excavator), closed after the test."""
    opened: list[Registry] = []

    def make(fleet: dict[str, Any] | None = None, name: str = "r.db") -> Registry:
        registry = Registry(f"sqlite:///{tmp_path / name}")
        opened.append(registry)
        import_fleet(registry, fleet if fleet is not None else small_fleet("http://127.0.0.1:9"))
        return registry

    yield make
    for registry in opened:
        registry.close()
