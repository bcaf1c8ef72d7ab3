"""The compiled hot path is used only when it is fresh, and CI runs the tests on it."""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path

import pytest

from monitor import compiled


@pytest.fixture(autouse=True)
def _not_forced_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """``status`` judges the build, whichever pass of the tests this is."""
    monkeypatch.delenv(compiled.PURE_ENV, raising=False)


def test_no_build_means_pure_python(tmp_path: Path) -> None:
    files, why = compiled.status(tmp_path)
    assert files is None and why.startswith("not built")


def test_a_build_older_than_its_sources_is_not_used(tmp_path: Path) -> None:
    sources = compiled.source_hashes()
    sources["monitor.detectors.geofence_exit"] = "0" * 64  # as if edited since the build
    (tmp_path / compiled.MANIFEST).write_text(json.dumps({"sources": sources}))
    files, why = compiled.status(tmp_path)
    assert files is None and why.startswith("sources changed")


def test_a_manifest_without_its_extensions_is_not_used(tmp_path: Path) -> None:
    manifest = {"sources": compiled.source_hashes(), "shared_lib": "x__mypyc"}
    (tmp_path / compiled.MANIFEST).write_text(json.dumps(manifest))
    files, why = compiled.status(tmp_path)
    assert files is None and "built for this interpreter" in why


def test_the_pure_python_switch_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(compiled.PURE_ENV, "1")
    files, why = compiled.status(tmp_path)
    assert files is None and compiled.PURE_ENV in why


def test_a_fresh_build_is_found_wherever_it_is_copied(tmp_path: Path) -> None:
    if compiled.status()[0] is None:
        pytest.skip(f"no fresh build: {compiled.status()[1]}")
    shutil.copytree(compiled.COMPILED_DIR, tmp_path / "copy")
    files, why = compiled.status(tmp_path / "copy")
    assert why == "compiled" and files is not None
    assert set(compiled.HOT_MODULES) < set(files)
    assert all(path.is_relative_to(tmp_path) for path in files.values())


@pytest.mark.skipif(not os.environ.get(compiled.REQUIRE_ENV)
                    or bool(os.environ.get(compiled.PURE_ENV)),
                    reason="only where the compiled monitor is required (CI)")
def test_ci_runs_the_compiled_monitor() -> None:
    assert compiled.active()
    for name in compiled.HOT_MODULES:
        module = importlib.import_module(name)
        assert module.__file__ is not None and not module.__file__.endswith(".py"), name
