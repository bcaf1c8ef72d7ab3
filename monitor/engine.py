"""The detection engine: every detector's state for every asset, in one place.

The pipeline is the list handed to the constructor, read top to bottom
(``default_detectors()`` for the standard one). The engine keeps one state
per (asset, detector), feeds it readings and ticks, and collects findings.
A detector that raises is logged and counted; the other detectors, and the
same detector for other assets, go on.

>>> from monitor.model import Site
>>> engine = DetectionEngine(default_detectors())
>>> pledge = Pledge("a1", "l1", "b1", "truck", Site(48.0, 11.0, radius_m=200))
>>> engine.observe(Reading("d1", 1, 1_764_331_200_000, lat=48.0, lon=11.0), pledge)
[]
>>> [f.kind.value for f in engine.tick(1_764_331_200_000 + 3_600_000, {"a1": pledge})]
['tracker_dark']
>>> DetectionEngine(default_detectors()).restore(engine.snapshot())
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ingest.wire import Reading
from monitor.detectors.base import Detector
from monitor.detectors.cloning import CloningDetector
from monitor.detectors.equipment_fault import EquipmentFaultDetector
from monitor.detectors.fuel_theft import FuelTheftDetector
from monitor.detectors.geofence_exit import GeofenceExitDetector
from monitor.detectors.idle import IdleDetector
from monitor.detectors.jamming import JammingDetector
from monitor.detectors.power_cut import PowerCutDetector
from monitor.detectors.spoofing import SpoofingDetector
from monitor.detectors.tamper import TamperDetector
from monitor.detectors.tracker_dark import TrackerDarkDetector
from monitor.enrich import FixFilter
from monitor.model import Finding, Pledge

__all__ = ["DetectionEngine", "default_detectors", "spine_detectors", "SNAPSHOT_VERSION"]

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1


_FILTER_KEY = "_filter"  # the noise filter's state in a snapshot, beside the detectors'


def default_detectors() -> list[Detector[Any]]:
    """The standard pipeline, read top to bottom.

    Raw (before the noise filters): spoofing, cloning. Then, on filtered
    readings: where it is, whether it works, whether we hear it, whether
    someone interferes with the tracker, the machine's health and its fuel.
    """
    return [SpoofingDetector(), CloningDetector(),
            GeofenceExitDetector(), IdleDetector(), TrackerDarkDetector(), TamperDetector(),
            PowerCutDetector(), JammingDetector(), EquipmentFaultDetector(), FuelTheftDetector()]


def spine_detectors() -> list[Detector[Any]]:
    """The spine's four detectors: the baseline the throughput benchmark compares with."""
    return [GeofenceExitDetector(), IdleDetector(), TrackerDarkDetector(), TamperDetector()]


class DetectionEngine:
    def __init__(self, detectors: Iterable[Detector[Any]],
                 fix_filter: FixFilter | None = None) -> None:
        self._detectors: tuple[Detector[Any], ...] = tuple(detectors)
        kinds = [d.kind for d in self._detectors]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"one detector per kind, got {kinds}")
        # Built once: the hot loop neither enumerates, allocates nor looks up a method.
        self._indexed = tuple(enumerate(self._detectors))
        self._raw = tuple((i, d.on_reading) for i, d in self._indexed
                          if getattr(d, "raw", False))
        self._filtered = tuple((i, d.on_reading) for i, d in self._indexed
                               if not getattr(d, "raw", False))
        # Most detectors judge readings only; the clock task asks just the others.
        self._tickers = tuple((i, d) for i, d in self._indexed if getattr(d, "ticks", True))
        self._filter = fix_filter or FixFilter()
        self._admit = self._filter.admit
        self._slot = len(self._detectors)  # the filter's state sits after the detectors'
        self._states: dict[str, list[Any]] = {}
        self.failures: dict[str, int] = {}
        #: Readings (or their positions) the noise filters dropped, by reason.
        self.filtered: dict[str, int] = {}
        self.high_ms = 0  # newest device time observed

    @property
    def detectors(self) -> Sequence[Detector[Any]]:
        return self._detectors

    def __len__(self) -> int:
        """How many assets hold state."""
        return len(self._states)

    def observe(self, reading: Reading, pledge: Pledge) -> list[Finding]:
        """Judge one reading of ``pledge``'s asset with every detector."""
        states = self._states.get(pledge.asset_id)
        if states is None:
            states = self._states[pledge.asset_id] = self._fresh()
        out: list[Finding] = []
        # The two loops are written out, not shared: this is the hot path.
        for i, on_reading in self._raw:
            try:
                states[i], found = on_reading(states[i], reading, pledge)
            except Exception:
                self._failed(self._detectors[i], pledge.asset_id, "reading")
                continue
            if found:
                out.extend(found)
        clean, why = self._admit(states[self._slot], reading, pledge, self.high_ms)
        if why != "ok":
            self.filtered[why] = self.filtered.get(why, 0) + 1
        if clean is None:
            return out
        if clean.ts_ms > self.high_ms:
            self.high_ms = clean.ts_ms
        for i, on_reading in self._filtered:
            try:
                states[i], found = on_reading(states[i], clean, pledge)
            except Exception:
                self._failed(self._detectors[i], pledge.asset_id, "reading")
                continue
            if found:
                out.extend(found)
        return out

    def tick(self, now_ms: int, pledges: Mapping[str, Pledge]) -> list[Finding]:
        """Judge time passing for every asset that has reported and still has a pledge.

        Assets that never reported are skipped: there is nothing to judge, and
        ``pledges`` may well cover assets another worker owns.
        """
        out: list[Finding] = []
        for asset_id, states in self._states.items():
            pledge = pledges.get(asset_id)
            if pledge is None:
                continue
            for i, detector in self._tickers:
                try:
                    states[i], found = detector.on_tick(states[i], pledge, now_ms)
                except Exception:
                    self._failed(detector, asset_id, "tick")
                    continue
                if found:
                    out.extend(found)
        return out

    def asset_ids(self) -> set[str]:
        """The assets that hold state."""
        return set(self._states)

    def forget(self, asset_id: str) -> None:
        """Drop an asset's state, e.g. when its pledge is released."""
        self._states.pop(asset_id, None)

    def snapshot(self) -> dict[str, Any]:
        """Every state as JSON-able data, keyed by asset and detector kind."""
        assets = {asset_id: self._dump(states) for asset_id, states in self._states.items()}
        return {"version": SNAPSHOT_VERSION, "assets": assets, "high_ms": self.high_ms}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace all state with a snapshot's; a detector missing from it starts fresh."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported engine snapshot version {data.get('version')!r}")
        self._states = {
            asset_id: [self._load(d, asset_id, dumped.get(d.kind.value)) for d in self._detectors]
            + [self._load_filter(dumped.get(_FILTER_KEY))]
            for asset_id, dumped in data["assets"].items()
        }
        self.high_ms = max(self.high_ms, int(data.get("high_ms", 0)))

    def _dump(self, states: list[Any]) -> dict[str, Any]:
        pairs = zip(self._detectors, states[:-1], strict=True)
        out = {d.kind.value: d.dump_state(s) for d, s in pairs}
        out[_FILTER_KEY] = self._filter.dump_state(states[self._slot])
        return out

    def _fresh(self) -> list[Any]:
        return [d.initial_state() for d in self._detectors] + [self._filter.initial_state()]

    def _load_filter(self, dumped: Any) -> Any:
        if dumped is None:
            return self._filter.initial_state()
        try:
            return self._filter.load_state(dumped)
        except Exception:
            log.exception("noise filter state failed to load; starting fresh")
            return self._filter.initial_state()

    def _load(self, detector: Detector[Any], asset_id: str, dumped: Any) -> Any:
        if dumped is None:
            return detector.initial_state()
        try:
            return detector.load_state(dumped)
        except Exception:
            self._failed(detector, asset_id, "restore")
            return detector.initial_state()

    def _failed(self, detector: Detector[Any], asset_id: str, stage: str) -> None:
        kind = detector.kind.value
        self.failures[kind] = self.failures.get(kind, 0) + 1
        log.exception("detector %s failed on %s for asset %s", kind, stage, asset_id)
