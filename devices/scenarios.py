"""The incident library: named scenarios, the alert each should raise, and ground-truth labels.

``SCENARIOS`` maps each scenario to the ``monitor.model.AlertKind`` value a
detector should raise for it, or ``None`` for a benign look-alike (any alert
on that asset inside the label's window is a false alarm). The names and
kinds are the contract with the detectors' evaluation (issue 5); how each
scenario plays out on the wire is in ``devices.effects``.

>>> SCENARIOS["relocation_tow_night"], SCENARIOS["port_call"]
('geofence_exit', None)
>>> len(INCIDENTS), len(BENIGN)
(18, 5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "SCENARIOS",
    "INCIDENTS",
    "BENIGN",
    "LEGACY_SCENARIO",
    "SUITABLE_KINDS",
    "Label",
    "iso_ms",
]

SCENARIOS: Mapping[str, str | None] = {
    "relocation_tow_night": "geofence_exit",
    "relocation_carried": "geofence_exit",
    "relocation_slow_drift": "geofence_exit",
    "ship_leaves_area": "geofence_exit",
    "ship_dark_at_sea": "tracker_dark",
    "tracker_silenced": "tracker_dark",
    "utilisation_decline": "idle",
    "abrupt_shutdown": "idle",
    "power_cut": "power_cut",
    "tamper_case_open": "tamper",
    "jamming": "jamming",
    "spoof_teleport": "spoofing",
    "spoof_frozen": "spoofing",
    "spoof_replay": "spoofing",
    "cloned_device": "cloning",
    "equipment_overheat": "equipment_fault",
    "equipment_vibration": "equipment_fault",
    "fuel_theft": "fuel_theft",
    # Benign look-alikes.
    "maintenance_trip": None,
    "holiday_shutdown": None,
    "dead_zone": None,
    "parked_drift": None,
    "port_call": None,
}
INCIDENTS: tuple[str, ...] = tuple(k for k, v in SCENARIOS.items() if v is not None)
BENIGN: tuple[str, ...] = tuple(k for k, v in SCENARIOS.items() if v is None)

#: The demo's original four incident kinds, labelled as the library scenario they play.
LEGACY_SCENARIO: Mapping[str, str] = {
    "relocation": "relocation_carried",
    "idle": "abrupt_shutdown",
    "dark": "tracker_silenced",
    "tamper": "tamper_case_open",
}

#: Asset kinds each scenario fits, best first (a ship is not towed at night).
SUITABLE_KINDS: Mapping[str, tuple[str, ...]] = {
    "relocation_tow_night": ("construction", "plant", "grid"),
    "relocation_carried": ("construction", "grid"),
    "relocation_slow_drift": ("construction", "tank"),
    "ship_leaves_area": ("ship",),
    "ship_dark_at_sea": ("ship",),
    "tracker_silenced": ("truck", "construction", "plant", "grid", "tank"),
    "utilisation_decline": ("plant", "construction", "grid"),
    "abrupt_shutdown": ("plant", "construction", "grid"),
    "power_cut": ("truck", "construction", "grid", "tank"),
    "tamper_case_open": ("truck", "construction", "tank"),
    "jamming": ("truck",),
    "spoof_teleport": ("truck", "ship", "construction"),
    "spoof_frozen": ("truck",),
    "spoof_replay": ("truck",),
    "cloned_device": ("truck", "construction"),
    "equipment_overheat": ("plant", "grid", "construction"),
    "equipment_vibration": ("plant", "grid"),
    "fuel_theft": ("tank", "construction", "truck"),
    "maintenance_trip": ("construction", "plant"),
    "holiday_shutdown": ("plant", "construction"),
    "dead_zone": ("truck", "construction", "tank"),
    "parked_drift": ("construction", "plant", "tank", "grid"),
    "port_call": ("ship",),
}


def iso_ms(t_ms: int) -> str:
    """ISO-8601 UTC with a 'Z', millisecond precision.

    >>> iso_ms(1_764_547_200_000)
    '2025-12-01T00:00:00.000Z'
    """
    return datetime.fromtimestamp(t_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth of one played scenario, in device time."""

    asset_id: str
    device_id: str
    scenario: str
    start_ms: int
    end_ms: int
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def alert_kind(self) -> str | None:
        return SCENARIOS[self.scenario]

    def as_json(self) -> dict[str, Any]:
        """The ``labels.jsonl`` line (README, "Recording a run")."""
        return {"asset_id": self.asset_id, "device_id": self.device_id,
                "scenario": self.scenario, "alert_kind": self.alert_kind,
                "benign": self.alert_kind is None, "start": iso_ms(self.start_ms),
                "end": iso_ms(self.end_ms), "params": dict(self.params)}
