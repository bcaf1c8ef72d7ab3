"""Query parameters that FastAPI cannot validate alone: times, intervals, field lists.

Each parser raises ``BadParameter`` naming the parameter, which the app turns
into a 422 shaped like FastAPI's own validation errors.

>>> parse_time_ms("start", "2025-11-28T12:00:00Z")
1764331200000
>>> parse_time_ms("start", "1764331200000")
1764331200000
>>> [parse_every_ms(x) for x in ("30s", "5m", "1h", "90", "1.5m", "250ms")]
[30000, 300000, 3600000, 90000, 90000, 250]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from registry.db import iso_ms

__all__ = [
    "Limit",
    "Offset",
    "BadParameter",
    "Window",
    "parse_time_ms",
    "parse_every_ms",
    "parse_fields",
    "resolve_window",
]

_DAY_MS = 86_400_000
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": _DAY_MS, "w": 7 * _DAY_MS}
_EVERY = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?")
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

#: Paging of every list: a bounded offset, so no database is asked for row 2**63.
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]


class BadParameter(ValueError):
    """A query parameter's value is wrong; ``message`` says how to fix it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True, slots=True)
class Window:
    start_ms: int
    end_ms: int


def parse_time_ms(name: str, value: str) -> int:
    """Epoch milliseconds (all digits) or ISO 8601 (no offset means UTC)."""
    text = value.strip()
    if text.isdigit():
        ms = int(text)
    else:
        ms = _iso_to_ms(name, text)
    if not 0 <= ms <= _MAX_MS:
        raise BadParameter(name, f"{value!r} is outside 1970..9999")
    return ms


def _iso_to_ms(name: str, text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(
            name, f"{text!r} is neither epoch milliseconds nor ISO 8601 "
                  "(e.g. 2025-11-28T12:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return int(moment.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        raise BadParameter(name, f"{text!r} is out of range") from None


def parse_every_ms(value: str, name: str = "every") -> int:
    """A bucket width like ``30s``, ``5m``, ``1h``, ``1d`` or plain seconds."""
    match = _EVERY.fullmatch(value.strip().lower())
    if match is None:
        raise BadParameter(name, f"{value!r} is not a duration like 30s, 5m, 1h, 1d or seconds")
    number, unit = match.groups()
    ms = round(float(number) * _UNITS_MS[unit or "s"])
    if ms <= 0:
        raise BadParameter(name, f"{value!r} must be longer than 0")
    return ms


def parse_fields(value: str, allowed: Iterable[str], name: str = "fields") -> list[str]:
    """A comma-separated list of known field names, duplicates dropped, order kept."""
    known = list(allowed)
    fields = list(dict.fromkeys(f.strip() for f in value.split(",") if f.strip()))
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise BadParameter(name, f"unknown {', '.join(unknown)}; known: {', '.join(known)}")
    if not fields:
        raise BadParameter(name, "give at least one field name, or leave it out for all")
    return fields


def resolve_window(start_ms: int | None, end_ms: int | None, *, default_end_ms: int,
                   default_span_ms: int, max_span_ms: int) -> Window:
    """Fill in a missing end (``default_end_ms``) or start (``end - default_span_ms``), check.

    >>> resolve_window(None, None, default_end_ms=10_000, default_span_ms=4_000,
    ...                max_span_ms=100_000)
    Window(start_ms=6000, end_ms=10000)
    """
    end = default_end_ms if end_ms is None else end_ms
    start = max(0, end - default_span_ms) if start_ms is None else start_ms
    if end <= start:
        raise BadParameter("end", f"end ({iso_ms(end)}) must be after start ({iso_ms(start)})")
    if end - start > max_span_ms:
        raise BadParameter("end", f"range is {(end - start) / _DAY_MS:.1f} days; "
                                  f"at most {max_span_ms / _DAY_MS:g} days")
    return Window(start, end)
