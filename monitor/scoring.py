"""Scoring detectors against labelled incidents: precision, recall, delay, false alarms.

The rule (the contract between the simulator and the detectors): an alert matches a
label when it is on the same asset, of the label's alert kind, and opened in
``[start, end + grace(kind)]``. Per alert kind:

- recall: labels with a matching alert / labels of that kind;
- detection delay: first matching alert's opening minus the label's start
  (median and 95th percentile over detected labels);
- false alarm: an alert of that kind matching no label of its kind, and not
  a side effect: an alert opened while its asset is inside an incident
  window (``[start, end + grace]`` of any non-benign label on that asset,
  e.g. a towed truck that also stands idle) counts as a side alert, not a
  false alarm. Any alert inside a benign look-alike's window is a false alarm;
- precision: matching alerts / (matching alerts + false alarms);
- false alarms per 1,000 asset-days of observation.

A muted alert (opened in a maintenance window and never told) is not
counted: nobody was alarmed.

>>> labels = [Label("a1", "relocation_carried", "geofence_exit", False, 0, 3_600_000)]
>>> alerts = [Scored("a1", "geofence_exit", 900_000), Scored("a2", "geofence_exit", 0)]
>>> row = score(alerts, labels, asset_days=10.0)["geofence_exit"]
>>> row.recall, row.precision, row.false_alarms, row.median_delay_s
(1.0, 0.5, 1, 900.0)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Label", "Scored", "KindScore", "score", "GRACE_MS", "percentile"]

_H = 3_600_000
#: How long after an incident's end an alert still counts as finding it.
GRACE_MS: Mapping[str, int] = {"idle": 48 * _H, "equipment_fault": 12 * _H,
                               "tracker_dark": 6 * _H}
_DEFAULT_GRACE_MS = 2 * _H


@dataclass(frozen=True, slots=True)
class Label:
    asset_id: str
    scenario: str
    alert_kind: str | None  # None: a benign look-alike
    benign: bool
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Scored:
    asset_id: str
    kind: str
    opened_at_ms: int


@dataclass(frozen=True, slots=True)
class KindScore:
    kind: str
    labels: int
    detected: int
    alerts: int
    false_alarms: int
    side_alerts: int
    recall: float | None
    precision: float | None
    median_delay_s: float | None
    p95_delay_s: float | None
    false_alarms_per_1000_asset_days: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation, as numpy's default."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _grace(kind: str | None) -> int:
    return GRACE_MS.get(kind or "", _DEFAULT_GRACE_MS)


def score(alerts: Iterable[Scored], labels: Sequence[Label], asset_days: float,
          kinds: Iterable[str] = ()) -> dict[str, KindScore]:
    """Scores per alert kind (every kind of ``kinds``, labels and alerts appears)."""
    alerts = sorted(alerts, key=lambda a: a.opened_at_ms)
    by_asset: dict[str, list[Label]] = {}
    for label in labels:
        by_asset.setdefault(label.asset_id, []).append(label)
    all_kinds = sorted({*kinds, *(lb.alert_kind for lb in labels if lb.alert_kind),
                        *(a.kind for a in alerts)})
    return {kind: _score_kind(kind, alerts, labels, by_asset, asset_days) for kind in all_kinds}


def _score_kind(kind: str, alerts: list[Scored], labels: Sequence[Label],
                by_asset: Mapping[str, list[Label]], asset_days: float) -> KindScore:
    mine = [lb for lb in labels if lb.alert_kind == kind]
    delays: list[float] = []
    matched: set[int] = set()
    for label in mine:
        found = [i for i, a in enumerate(alerts) if a.kind == kind and _in(a, label)]
        matched.update(found)
        if found:
            delays.append(max(0.0, (alerts[found[0]].opened_at_ms - label.start_ms) / 1000))
    false_alarms = side = 0
    of_kind = [i for i, a in enumerate(alerts) if a.kind == kind]
    for i in of_kind:
        if i in matched:
            continue
        if _side_effect(alerts[i], by_asset.get(alerts[i].asset_id, [])):
            side += 1
        else:
            false_alarms += 1
    hits = len(matched)
    return KindScore(
        kind=kind, labels=len(mine), detected=len(delays), alerts=len(of_kind),
        false_alarms=false_alarms, side_alerts=side,
        recall=len(delays) / len(mine) if mine else None,
        precision=hits / (hits + false_alarms) if hits + false_alarms else None,
        median_delay_s=statistics.median(delays) if delays else None,
        p95_delay_s=percentile(delays, 0.95) if delays else None,
        false_alarms_per_1000_asset_days=false_alarms / asset_days * 1000 if asset_days else 0.0)


def _in(alert: Scored, label: Label) -> bool:
    return (alert.asset_id == label.asset_id
            and label.start_ms <= alert.opened_at_ms <= label.end_ms + _grace(label.alert_kind))


def _side_effect(alert: Scored, labels: list[Label]) -> bool:
    inside = [lb for lb in labels if _in(alert, lb)]
    return bool(inside) and not any(lb.benign for lb in inside)
