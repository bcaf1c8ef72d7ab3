"""The fleet file format (``version: 1``): per-kind defaults and validation.

The registry importer reads the same document (ignoring ``simulation``), so
validation here refuses what it would refuse and names the offending entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devices.scenarios import SCENARIOS

__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "DEFAULT_KINDS",
    "INCIDENT_KINDS",
    "DEMO_INCIDENT_KINDS",
    "DEFAULT_CADENCE_S",
    "KindSpec",
    "KIND_SPECS",
    "FleetError",
    "validate_fleet",
    "fleet_devices",
]

FORMAT_VERSION = 1
#: When an asset omits ``cadence_s``; the registry assumes the same.
DEFAULT_CADENCE_S = 300.0


@dataclass(frozen=True, slots=True)
class KindSpec:
    """What the generator writes for one kind of asset, and why it is safe.

    ``idle_after_s`` exceeds the longest rest of the normal duty cycle (see
    ``devices.kinds``), so only a real shutdown is a finding.
    """

    prefix: str
    share: float
    cadence_s: int
    idle_after_s: int
    geofence_dwell_s: int
    site_radius_m: tuple[int, int]
    value_cny: tuple[int, int]


KIND_SPECS: Mapping[str, KindSpec] = {
    # A pledged truck may drive: its site is a permitted region around the depot.
    "truck": KindSpec("trk", 0.40, 120, 16 * 3600, 600, (150_000, 300_000), (300_000, 900_000)),
    "construction": KindSpec("cm", 0.25, 300, 14 * 3600, 600, (300, 800), (400_000, 2_500_000)),
    "ship": KindSpec("shp", 0.15, 600, 48 * 3600, 1800, (100_000, 200_000),
                     (15_000_000, 80_000_000)),
    "plant": KindSpec("plt", 0.20, 300, 14 * 3600, 600, (150, 300), (800_000, 6_000_000)),
    # Fixed: a generating set rests ~7 h a night, a filling station's tank ~8 h.
    "grid": KindSpec("gen", 0.07, 300, 12 * 3600, 600, (150, 300), (1_500_000, 20_000_000)),
    "tank": KindSpec("tnk", 0.07, 600, 14 * 3600, 600, (150, 300), (150_000, 1_200_000)),
}
KINDS: tuple[str, ...] = tuple(KIND_SPECS)
#: What ``generate_fleet`` mixes unless told otherwise: the demo's detectors are tuned on these.
DEFAULT_KINDS: tuple[str, ...] = ("truck", "construction", "ship", "plant")
DEMO_INCIDENT_KINDS: tuple[str, ...] = ("relocation", "idle", "dark", "tamper")
#: The demo's four kinds, then every scenario of the incident library (``devices.scenarios``).
INCIDENT_KINDS: tuple[str, ...] = (*DEMO_INCIDENT_KINDS, *SCENARIOS)


class FleetError(ValueError):
    """A fleet document is invalid; the message names the entry and the problem."""


def validate_fleet(fleet: Any) -> dict[str, Any]:
    """Check a fleet document and return it unchanged; raise ``FleetError`` otherwise."""
    if not isinstance(fleet, dict):
        raise FleetError("a fleet document must be a mapping with version, lenders, loans, assets")
    if fleet.get("version") != FORMAT_VERSION:
        raise FleetError(f"unsupported fleet version {fleet.get('version')!r} (expected 1)")
    lenders = _unique_ids(fleet, "lenders", ("id", "name"))
    loans = _unique_ids(fleet, "loans", ("id", "lender_id", "borrower"))
    assets = _unique_ids(fleet, "assets", ("id", "kind", "name", "loan_id"))
    _check_refs(fleet, "loans", "lender_id", lenders, "lender")
    _check_refs(fleet, "assets", "loan_id", loans, "loan")
    for where, asset in _entries(fleet, "assets"):
        _check_asset(where, asset)
    devices = _device_ids(fleet, assets)
    _check_incidents(fleet.get("simulation"), devices)
    return fleet


def _entries(fleet: Mapping[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    items = fleet.get(key, [])
    if not isinstance(items, list):
        raise FleetError(f"{key} must be a list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FleetError(f"{key}[{i}] must be a mapping")
        label = f" ({item['id']})" if isinstance(item.get("id"), str) else ""
        out.append((f"{key}[{i}]{label}", item))
    return out


def _unique_ids(fleet: Mapping[str, Any], key: str, required: tuple[str, ...]) -> set[str]:
    if key not in fleet:
        raise FleetError(f"fleet has no {key}")
    seen: set[str] = set()
    for where, item in _entries(fleet, key):
        for name in required:
            if not isinstance(item.get(name), str) or not item[name]:
                raise FleetError(f"{where}: {name} must be a non-empty string")
        if item["id"] in seen:
            raise FleetError(f"{where}: duplicate {key[:-1]} id {item['id']!r}")
        seen.add(item["id"])
    return seen


def _check_refs(fleet: Mapping[str, Any], key: str, field: str, known: set[str],
                noun: str) -> None:
    for where, item in _entries(fleet, key):
        if item[field] not in known:
            raise FleetError(f"{where}: unknown {noun} {item[field]!r}")


def _check_asset(where: str, asset: Mapping[str, Any]) -> None:
    if asset["kind"] not in KIND_SPECS:
        raise FleetError(f"{where}: unknown kind {asset['kind']!r} "
                         f"(expected one of {', '.join(KINDS)})")
    if "site" not in asset:
        raise FleetError(f"{where}: asset has no site")
    _check_site(where, asset["site"])
    for name in ("cadence_s", "idle_after_s"):
        if name in asset and not (_is_number(asset[name]) and asset[name] > 0):
            raise FleetError(f"{where}: {name} must be a positive number")
    if "geofence_dwell_s" in asset and not (_is_number(asset["geofence_dwell_s"])
                                            and asset["geofence_dwell_s"] >= 0):
        raise FleetError(f"{where}: geofence_dwell_s must be a non-negative number")


def _check_site(where: str, site: Any) -> None:
    if not isinstance(site, dict):
        raise FleetError(f"{where}: site must be a mapping with lat, lon and radius_m or polygon")
    if not (_is_number(site.get("lat")) and -90 <= site["lat"] <= 90):
        raise FleetError(f"{where}: site.lat must be a number in [-90, 90]")
    if not (_is_number(site.get("lon")) and -180 <= site["lon"] <= 180):
        raise FleetError(f"{where}: site.lon must be a number in [-180, 180]")
    has_radius, has_polygon = site.get("radius_m") is not None, site.get("polygon") is not None
    if has_radius == has_polygon:
        raise FleetError(f"{where}: site needs exactly one of radius_m or polygon")
    if has_radius and not (_is_number(site["radius_m"]) and site["radius_m"] > 0):
        raise FleetError(f"{where}: site.radius_m must be a positive number")
    if has_polygon:
        _check_ring(where, site["polygon"], site["lat"], site["lon"])


def _check_ring(where: str, ring: Any, lat: float, lon: float) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise FleetError(f"{where}: site.polygon must be a closed ring of at least 4 [lon, lat]")
    for point in ring:
        if not (isinstance(point, list | tuple) and len(point) == 2
                and all(_is_number(v) for v in point)):
            raise FleetError(f"{where}: site.polygon point {point!r} is not [lon, lat]")
        if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            raise FleetError(f"{where}: site.polygon point {point!r} is out of range "
                             "(points are [lon, lat])")
    if list(ring[0]) != list(ring[-1]):
        raise FleetError(f"{where}: site.polygon ring must be closed (first point == last)")
    if abs(ring[0][0] - lon) > 5 or abs(ring[0][1] - lat) > 5:
        raise FleetError(f"{where}: site.polygon is far from the anchor; points are [lon, lat]")


def _device_ids(fleet: Mapping[str, Any], assets: set[str]) -> dict[str, str]:
    """device id -> asset id, from assets' ``device_id`` and the optional ``devices`` list."""
    owners: dict[str, str] = {}
    pairs = [(w, a.get("device_id"), a["id"]) for w, a in _entries(fleet, "assets")]
    pairs += [(w, d.get("id"), d.get("asset_id")) for w, d in _entries(fleet, "devices")]
    for where, device_id, asset_id in pairs:
        if device_id is None and where.startswith("assets"):
            continue
        if not isinstance(device_id, str) or not device_id:
            raise FleetError(f"{where}: device id must be a non-empty string")
        if asset_id not in assets:
            raise FleetError(f"{where}: unknown asset {asset_id!r}")
        if device_id in owners:
            raise FleetError(f"{where}: duplicate device id {device_id!r}")
        owners[device_id] = asset_id
    return owners


def _check_incidents(simulation: Any, devices: Mapping[str, str]) -> None:
    if simulation is None:
        return
    if not isinstance(simulation, dict):
        raise FleetError("simulation must be a mapping")
    start = simulation.get("start_ms")
    if start is not None and not (isinstance(start, int) and not isinstance(start, bool)):
        raise FleetError("simulation.start_ms must be epoch milliseconds (an integer)")
    with_device = set(devices.values())
    for where, incident in _entries(simulation, "incidents"):
        where = f"simulation.{where}"
        if incident.get("kind") not in INCIDENT_KINDS:
            raise FleetError(f"{where}: unknown incident kind {incident.get('kind')!r} "
                             f"(expected one of {', '.join(INCIDENT_KINDS)})")
        if incident.get("asset_id") not in with_device:
            raise FleetError(f"{where}: asset {incident.get('asset_id')!r} is unknown "
                             "or has no device")
        if not (_is_number(incident.get("start_s")) and incident["start_s"] >= 0):
            raise FleetError(f"{where}: start_s must be a non-negative number")
        duration = incident.get("duration_s")
        if duration is not None and not (_is_number(duration) and duration > 0):
            raise FleetError(f"{where}: duration_s must be a positive number")
        _check_params(where, incident.get("params", {}))


def _check_params(where: str, params: Any) -> None:
    if not isinstance(params, dict):
        raise FleetError(f"{where}: params must be a mapping")
    for name in ("distance_m", "tow_speed_kmh"):
        if name in params and not (_is_number(params[name]) and params[name] > 0):
            raise FleetError(f"{where}: params.{name} must be a positive number")


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def fleet_devices(fleet: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(device id, asset) for every tracker in a valid fleet, in file order.

    An asset's own ``device_id`` comes first, then the ``devices`` list.
    """
    assets = {a["id"]: a for a in fleet["assets"]}
    pairs = [(a["device_id"], a) for a in fleet["assets"] if a.get("device_id")]
    pairs += [(d["id"], assets[d["asset_id"]]) for d in fleet.get("devices", [])]
    return pairs
