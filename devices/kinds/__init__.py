"""Per-kind behaviour: what a truck, construction machine, ship, plant, generator or tank does.

Every behaviour is deterministic given (seed, asset, device time); see
``devices.kinds.base`` for the shared pieces.
"""

from __future__ import annotations

from typing import Any

from devices.kinds.base import Activity, Behaviour, Draws, DrawStream, ambient_c
from devices.kinds.construction import Construction
from devices.kinds.grid import Grid
from devices.kinds.plant import Plant
from devices.kinds.ship import KNOT_KMH, Ship
from devices.kinds.tank import Tank
from devices.kinds.truck import Truck

__all__ = [
    "Activity",
    "Behaviour",
    "Construction",
    "Draws",
    "DrawStream",
    "Grid",
    "KNOT_KMH",
    "Plant",
    "Ship",
    "Tank",
    "Truck",
    "ambient_c",
    "behaviour_for",
]


def behaviour_for(asset: dict[str, Any], seed: int, start_ms: int) -> Behaviour:
    """The normal duty cycle of one asset of the fleet file."""
    kind, asset_id, site = asset["kind"], asset["id"], asset["site"]
    if kind == "truck":
        return Truck(asset_id, site, seed)
    if kind == "construction":
        return Construction(asset_id, site, seed)
    if kind == "plant":
        return Plant(asset_id, site, seed)
    if kind == "ship":
        return Ship(asset_id, site, seed, start_ms)
    if kind == "grid":
        return Grid(asset_id, site, seed)
    if kind == "tank":
        return Tank(asset_id, site, seed)
    raise ValueError(f"no behaviour for asset kind {kind!r}")
