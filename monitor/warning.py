"""A loan's warning level, derived from its collateral's open alerts.

The rule, applied to open alerts only (resolved ones are ignored; an alert
whose resolve is pending still counts):

- each open alert has a level by kind: ``geofence_exit`` -> critical (the
  collateral is not where it was pledged); ``spoofing`` and ``cloning`` ->
  critical (someone deceives the tracker on purpose); ``tamper``,
  ``power_cut``, ``jamming`` and ``tracker_dark`` -> warning (someone may be
  hiding it); ``idle``, ``equipment_fault`` and ``fuel_theft`` -> watch (the
  asset earns less or loses value, a slower credit signal). A kind without a
  rule -> warning.
- two or more alerts at warning (distinct assets or distinct kinds, e.g.
  power cut and then dark on one truck, the usual theft pattern) -> critical.
- the loan's level is the highest; no open alert -> normal.

>>> from monitor.alerts import Alert, AlertStatus
>>> from monitor.model import AlertKind
>>> dark = Alert("truck-7", AlertKind.TRACKER_DARK, AlertStatus.OPEN, 0, 0)
>>> loan_warning_level([dark])
(<WarningLevel.WARNING: 'warning'>, 'tracker_dark on truck-7')
>>> tamper = Alert("truck-7", AlertKind.TAMPER, AlertStatus.OPEN, 0, 0)
>>> loan_warning_level([dark, tamper])[0] > WarningLevel.WARNING
True
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from monitor.alerts import Alert, AlertStatus
from monitor.model import AlertKind

__all__ = ["WarningLevel", "KIND_LEVELS", "loan_warning_level"]


class WarningLevel(StrEnum):
    """Ordered by severity (not alphabetically, as a plain StrEnum would be)."""

    NORMAL = "normal"
    WATCH = "watch"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, WarningLevel):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, WarningLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, WarningLevel):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, WarningLevel):
            return NotImplemented
        return self.rank >= other.rank


_RANKS = {level: rank for rank, level in enumerate(WarningLevel)}

KIND_LEVELS: dict[AlertKind, WarningLevel] = {
    AlertKind.GEOFENCE_EXIT: WarningLevel.CRITICAL,
    AlertKind.TAMPER: WarningLevel.WARNING,
    AlertKind.TRACKER_DARK: WarningLevel.WARNING,
    AlertKind.IDLE: WarningLevel.WATCH,
    AlertKind.POWER_CUT: WarningLevel.WARNING,
    AlertKind.JAMMING: WarningLevel.WARNING,
    AlertKind.SPOOFING: WarningLevel.CRITICAL,
    AlertKind.CLONING: WarningLevel.CRITICAL,
    AlertKind.EQUIPMENT_FAULT: WarningLevel.WATCH,
    AlertKind.FUEL_THEFT: WarningLevel.WATCH,
}


def loan_warning_level(open_alerts: Iterable[Alert]) -> tuple[WarningLevel, str]:
    """The loan's level and a human reason naming the alerts that set it."""
    graded = sorted(
        (KIND_LEVELS.get(a.kind, WarningLevel.WARNING), a.asset_id, a.kind.value)
        for a in open_alerts
        if a.status is AlertStatus.OPEN
    )
    if not graded:
        return WarningLevel.NORMAL, "no open alerts"
    top = max(level for level, _, _ in graded)
    keys = sorted({(asset, kind) for level, asset, kind in graded if level == top})
    if top == WarningLevel.WARNING and len(keys) >= 2:
        return WarningLevel.CRITICAL, f"several warning signs at once: {_name(keys)}"
    return top, _name(keys)


def _name(keys: list[tuple[str, str]], limit: int = 3) -> str:
    named = ", ".join(f"{kind} on {asset}" for asset, kind in keys[:limit])
    more = len(keys) - limit
    return f"{named} and {more} more" if more > 0 else named
