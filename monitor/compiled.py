"""The detection hot path compiled to C with mypyc, used only while it matches the sources.

The engine, the noise filters and every detector are plain typed Python.
``scripts/build-compiled`` (``make compiled``; ``make`` runs it before
the platform or the tests) compiles them with mypyc, the compiler
mypy ships, into ``build/compiled/`` beside the packages, with a manifest
of the sources' SHA-256 (``COLLATERAL_COMPILED_DIR`` puts it elsewhere, e.g.
for an installed, non-editable package). Importing ``monitor`` puts a finder in front of the
import system that loads those extension modules instead of the ``.py``
files, all of them or none:

- only if every compiled source (and ``ingest/wire.py``, whose ``Reading``
  they read) still hashes as in the manifest. Compiled modules call each
  other directly, in C, so one stale module would run old code even beside
  a fresh ``.py``: after an edit the whole group falls back to Python (with
  a warning in the log) until it is rebuilt;
- only for the interpreter it was built for (the extension's file name
  says which);
- never with ``COLLATERAL_PURE_PYTHON=1`` (what the pure-Python test run and
  the benchmark's baseline set).

Without a C compiler the build warns and the monitor runs as pure Python
(``CW_REQUIRE_COMPILED=1``, as in CI, makes that an error).

Behaviour is the same either way (the test suite runs both); the compiled
group runs the monitor about 1.8 times faster (``benchmarks/bench_monitor.py``).
Code that must replace a function inside these modules (a test's monkeypatch)
cannot: compiled modules bind their calls at build time. mypyc warns
"Unsupported default attribute value" for each detector's class-level
``kind`` and ``state_type``: they stay ordinary class attributes, which is
all they need to be.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["HOT_MODULES", "COMPILED_DIR", "build", "install", "status", "active", "describe"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
#: Where the build goes: out of the source tree, so a stale build never shadows a ``.py``.
DIR_ENV = "COLLATERAL_COMPILED_DIR"
COMPILED_DIR = Path(os.environ.get(DIR_ENV, ROOT / "build" / "compiled"))
PURE_ENV = "COLLATERAL_PURE_PYTHON"
#: Set (as CI does) to make a failed build an error rather than a warning.
REQUIRE_ENV = "CW_REQUIRE_COMPILED"
MANIFEST = "manifest.json"

#: What the engine runs for every reading, compiled as one group.
HOT_MODULES: tuple[str, ...] = (
    "monitor.model", "monitor.anomaly", "monitor.utilisation", "monitor.enrich",
    "monitor.engine", "monitor.detectors.base", "monitor.detectors.fences",
    "monitor.detectors.motion", "monitor.detectors.track", "monitor.detectors.cloning",
    "monitor.detectors.equipment_fault", "monitor.detectors.fuel_theft",
    "monitor.detectors.geofence_exit", "monitor.detectors.idle", "monitor.detectors.jamming",
    "monitor.detectors.power_cut", "monitor.detectors.spoofing", "monitor.detectors.tamper",
    "monitor.detectors.tracker_dark",
)
#: Read by the compiled group but not part of it: a change there can break its assumptions.
WATCHED_MODULES: tuple[str, ...] = ("ingest.wire",)


def source_path(module: str) -> Path:
    """The ``.py`` file of a first-party module."""
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def source_hashes() -> dict[str, str]:
    """SHA-256 of each compiled or watched module's source, by module name."""
    return {m: hashlib.sha256(source_path(m).read_bytes()).hexdigest()
            for m in HOT_MODULES + WATCHED_MODULES}


def _extension(directory: Path, module: str) -> Path | None:
    """The module's extension file built for this interpreter, if there is one."""
    base = directory.joinpath(*module.split("."))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = base.with_name(base.name + suffix)
        if path.is_file():
            return path
    return None


def status(directory: Path = COMPILED_DIR) -> tuple[dict[str, Path] | None, str]:
    """The extension files to load, by module name, or None and why not."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None, f"{PURE_ENV} is set"
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        return None, f"not built ({directory / MANIFEST} missing; run `make compiled`)"
    except (OSError, ValueError) as exc:
        return None, f"unreadable manifest {directory / MANIFEST}: {exc}"
    if manifest.get("sources") != source_hashes():
        return None, "sources changed since the build (run `make compiled`)"
    files: dict[str, Path] = {}
    for module in [*HOT_MODULES, manifest.get("shared_lib", "")]:
        path = _extension(directory, module) if module else None
        if path is None:
            return None, f"no {module or 'shared library'} built for this interpreter"
        files[module] = path
    return files, "compiled"


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        return importlib.util.spec_from_file_location(fullname, file)


def active() -> bool:
    """Whether this process runs the compiled group."""
    return any(isinstance(f, _Finder) for f in sys.meta_path)


def describe() -> str:
    """Which build this process runs, for logs and benchmark headers."""
    return "compiled (mypyc)" if active() else f"pure Python ({status()[1]})"


def install() -> None:
    """Load the compiled group from now on, if it is fresh (``monitor/__init__`` calls it)."""
    if active():
        return
    already = [m for m in HOT_MODULES if m in sys.modules]
    files, why = status()
    if files is None:
        if why.startswith("sources changed"):
            log.warning("compiled monitor not used: %s", why)
        return
    if already:  # a mix would run two copies of the same classes
        log.warning("compiled monitor not used: %s already imported as Python", already)
        return
    sys.meta_path.insert(0, _Finder(files))


def build(directory: Path = COMPILED_DIR) -> None:
    """Compile ``HOT_MODULES`` with mypyc into ``directory`` and write its manifest."""
    from mypyc.build import mypycify  # build-time only: mypy is a dev dependency
    from setuptools import setup

    sources = source_hashes()  # before compiling: an edit during the build makes it stale
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).unlink(missing_ok=True)
    temp = (directory.parent / "compiled-tmp").resolve()
    temp.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    os.chdir(temp)  # not the project: setuptools would read its pyproject.toml
    try:
        modules = mypycify([str(source_path(m)) for m in HOT_MODULES], opt_level="3",
                           target_dir=str(temp / "c"))
        setup(name="collateral-watch-compiled", ext_modules=modules,
              script_args=["--quiet", "build_ext", "--build-lib", str(directory.resolve()),
                           "--build-temp", str(temp / "o")])
    finally:
        os.chdir(cwd)
    shared = [m.name for m in modules if m.name.endswith("__mypyc")]
    (directory / MANIFEST).write_text(json.dumps(
        {"sources": sources, "shared_lib": shared[0] if shared else "",
         "python": sys.version}, indent=1))


def main(argv: Sequence[str] | None = None) -> int:
    """``scripts/build-compiled`` and ``scripts/build-compiled status``."""
    args = list(sys.argv[1:] if argv is None else argv) or ["build"]
    if args in (["build"], ["build", "--force"]):
        if args == ["build"] and status()[1] == "compiled":
            print(f"compiled monitor in {COMPILED_DIR} is up to date")  # noqa: T201
            return 0
        doing = f"compiling {len(HOT_MODULES)} modules with mypyc (about a minute)"
        print(doing, flush=True)  # noqa: T201
        try:
            build()
        except (Exception, SystemExit) as exc:  # setuptools exits on a compiler error
            sys.stderr.write(f"compiling the monitor failed ({exc}); it runs as pure Python, "
                             "about half as fast. It needs a C compiler and Python's headers "
                             "(Debian: apt-get install gcc python3-dev).\n")
            return 1 if os.environ.get(REQUIRE_ENV) else 0
        print(f"built {len(HOT_MODULES)} modules into {COMPILED_DIR}")  # noqa: T201
        return 0
    if args == ["status"]:
        print(status()[1])  # noqa: T201
        return 0
    print("usage: build-compiled [build [--force]|status]", file=sys.stderr)  # noqa: T201
    return 2
