"""Fleet files: generate a realistic seeded fleet, load and dump it as YAML.

The format (``version: 1``; lenders, loans, assets, optional devices and the
simulator's ``simulation`` section) and its validation live in
``devices.schema``; the registry importer reads the same file.

>>> fleet = generate_fleet(12, seed=1)
>>> sorted({a["kind"] for a in fleet["assets"]})
['construction', 'plant', 'ship', 'truck']
>>> sorted(i["kind"] for i in fleet["simulation"]["incidents"])
['dark', 'idle', 'relocation', 'tamper']
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import yaml

from devices.geo import REGIONS, Place, Region, to_latlon
from devices.schema import (
    DEFAULT_KINDS,
    DEMO_INCIDENT_KINDS,
    KIND_SPECS,
    KINDS,
    FleetError,
    KindSpec,
    validate_fleet,
)

__all__ = [
    "DEFAULT_WEBHOOK_BASE_URL",
    "FleetError",
    "KIND_SPECS",
    "generate_fleet",
    "load_fleet",
    "dump_fleet",
    "validate_fleet",
]

DEFAULT_WEBHOOK_BASE_URL = "http://127.0.0.1:8765/webhooks"
#: Incidents start this long after the simulation does (plus up to 10 minutes).
INCIDENT_START_S = 1800
_ASSETS_PER_INCIDENT = 150

_LENDERS = ("Harbour Bank", "Eastern Trade Finance", "Pearl River Credit", "Bohai Commercial Bank",
            "Yellow Sea Leasing", "Jade Capital", "Yangtze Equipment Finance", "Lotus Trust")
_BORROWER_NAMES = ("Hengda", "Jinhai", "Longteng", "Huaxin", "Zhongyuan", "Dongsheng", "Xinda",
                   "Haitong", "Ruifeng", "Tianli", "Yongxing", "Baoli", "Kaiyuan", "Minsheng")
_BUSINESS = {"truck": "Logistics", "construction": "Construction Engineering",
             "ship": "Shipping", "plant": "Manufacturing", "grid": "Power",
             "tank": "Fuel Retail"}
_LEGAL = ("Co., Ltd.", "Ltd.", "Group Co., Ltd.")
_MODELS = {
    "truck": ("Sinotruk HOWO", "FAW Jiefang J6P", "Dongfeng KX", "Shacman X3000", "Foton Auman"),
    "construction": ("SANY excavator", "XCMG wheel loader", "Zoomlion crawler crane",
                     "LiuGong bulldozer", "XCMG road roller", "SANY excavator"),
    "ship": ("MV Hai Feng", "MV Jin Hai", "MV Dong Fang", "MV Xin Hua", "MV Zhong Yuan"),
    "plant": ("Air compressor", "Injection moulding machine", "Hydraulic press",
              "CNC machining centre", "Industrial chiller", "Diesel generator set"),
    "grid": ("Cummins 1,500 kVA genset", "Weichai 1,000 kW genset", "Yuchai 800 kW genset",
             "MTU 2,000 kVA genset"),
    "tank": ("Underground diesel tank 30 m3", "Underground petrol tank 50 m3",
             "Above-ground diesel tank 20 m3"),
}
# Which kinds suit each scripted incident, best first (see devices.incidents).
_INCIDENT_KINDS_PREFERRED = {
    "relocation": ("construction", "plant"),
    "idle": ("plant", "construction"),
    "dark": ("truck", "ship"),
    "tamper": ("truck", "construction"),
}


def generate_fleet(
    n_assets: int,
    seed: int,
    lenders: int = 3,
    webhook_base_url: str = DEFAULT_WEBHOOK_BASE_URL,
    incidents: bool = True,
    kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A valid fleet of ``n_assets`` around Chinese ports and industrial zones.

    Mix: ~40% trucks, 25% construction machines, 15% ships, 20% plant; loans of
    1-5 assets of one kind and one region. With ``incidents`` one of each
    incident kind (one more per 150 assets) starts 30-40 minutes in.
    """
    if n_assets < 1 or lenders < 1:
        raise FleetError("a fleet needs at least one asset and one lender")
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown or kinds == ():
        raise FleetError(f"unknown asset kinds {unknown} (expected some of {', '.join(KINDS)})")
    rng = random.Random(seed)
    lender_rows = [_lender(i, rng, webhook_base_url.rstrip("/")) for i in range(lenders)]
    loans: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    width = max(4, len(str(n_assets)))
    for group in _loan_groups(_kind_mix(n_assets, tuple(kinds or DEFAULT_KINDS)), rng):
        region = rng.choice(REGIONS)
        loan_id = f"loan-{len(loans) + 1:0{width}d}"
        rows = [_asset(len(assets) + 1 + j, width, kind, loan_id, region, rng)
                for j, kind in enumerate(group)]
        loans.append(_loan(loan_id, group, region, rng.choice(lender_rows)["id"], rng))
        assets.extend(rows)
    fleet: dict[str, Any] = {"version": 1, "lenders": lender_rows, "loans": loans,
                             "assets": assets}
    if incidents:
        fleet["simulation"] = {"incidents": _script_incidents(assets, rng)}
    return validate_fleet(fleet)


def load_fleet(path: str | Path) -> dict[str, Any]:
    """Read and validate a fleet file; ``FleetError`` says what is wrong."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FleetError(f"cannot read fleet file {path}: {exc}") from None
    try:
        return validate_fleet(data)
    except FleetError as exc:
        raise FleetError(f"{path}: {exc}") from None


def dump_fleet(fleet: dict[str, Any], path_or_stream: str | Path | IO[str]) -> None:
    """Validate and write a fleet as YAML to a path or an open text stream."""
    validate_fleet(fleet)
    if isinstance(path_or_stream, str | Path):
        with Path(path_or_stream).open("w", encoding="utf-8") as stream:
            _dump(fleet, stream)
    else:
        _dump(fleet, path_or_stream)


def _dump(fleet: dict[str, Any], stream: IO[str]) -> None:
    # Flow style for leaf mappings keeps one lender/loan/site per line.
    yaml.safe_dump(fleet, stream, sort_keys=False, default_flow_style=None,
                   allow_unicode=True, width=120)


def _kind_mix(n: int, kinds: tuple[str, ...] = DEFAULT_KINDS) -> list[str]:
    """Asset kinds by largest remainder of the kind shares.

    >>> from collections import Counter
    >>> Counter(_kind_mix(20, ("truck", "construction", "ship", "plant")))
    Counter({'truck': 8, 'construction': 5, 'plant': 4, 'ship': 3})
    """
    total = sum(KIND_SPECS[k].share for k in kinds)
    quotas = {k: n * KIND_SPECS[k].share / total for k in kinds}
    counts = {k: math.floor(q) for k, q in quotas.items()}
    by_remainder = sorted(kinds, key=lambda k: (counts[k] - quotas[k], kinds.index(k)))
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    return [k for k in kinds for _ in range(counts[k])]


def _loan_groups(kinds: list[str], rng: random.Random) -> list[list[str]]:
    groups: list[list[str]] = []
    for kind in dict.fromkeys(kinds):
        left = kinds.count(kind)
        while left:
            size = min(left, rng.randint(1, 5))
            groups.append([kind] * size)
            left -= size
    rng.shuffle(groups)
    return groups


def _lender(i: int, rng: random.Random, base_url: str) -> dict[str, Any]:
    lender_id = f"lender-{i + 1:02d}"
    name = _LENDERS[i % len(_LENDERS)] + (f" {i // len(_LENDERS) + 1}" if i >= len(_LENDERS)
                                          else "")
    secret = "whsec_" + base64.b64encode(rng.randbytes(24)).decode()
    return {"id": lender_id, "name": name, "webhook_url": f"{base_url}/{lender_id}",
            "webhook_secret": secret}


def _loan(loan_id: str, kinds: list[str], region: Region, lender_id: str,
          rng: random.Random) -> dict[str, Any]:
    borrower = (f"{region.name} {rng.choice(_BORROWER_NAMES)} {_BUSINESS[kinds[0]]} "
                f"{rng.choice(_LEGAL)}")
    value = sum(rng.uniform(*KIND_SPECS[k].value_cny) for k in kinds)
    return {"id": loan_id, "lender_id": lender_id, "borrower": borrower,
            "principal": int(round(value * 0.7, -4)), "currency": "CNY"}


def _asset(number: int, width: int, kind: str, loan_id: str, region: Region,
           rng: random.Random) -> dict[str, Any]:
    spec = KIND_SPECS[kind]
    return {
        "id": f"asset-{number:0{width}d}",
        "kind": kind,
        "name": f"{rng.choice(_MODELS[kind])} {number:0{width}d}",
        "loan_id": loan_id,
        "site": _site(kind, spec, region, rng),
        "cadence_s": spec.cadence_s,
        "idle_after_s": spec.idle_after_s,
        "geofence_dwell_s": spec.geofence_dwell_s,
        "device_id": f"{spec.prefix}-{number:0{width}d}",
    }


def _site(kind: str, spec: KindSpec, region: Region, rng: random.Random) -> dict[str, Any]:
    low, high = spec.site_radius_m
    step = 10_000 if high > 10_000 else 10
    if kind == "ship":
        lat, lon = _near(region.port, rng.uniform(0, 400), rng)
    else:
        places = region.industrial if kind not in ("construction", "tank") else (
            *region.industrial, *region.customers)
        far = {"truck": 3000, "construction": 4000, "plant": 2000, "grid": 2000,
               "tank": 3000}[kind]
        lat, lon = _near(rng.choice(places), rng.uniform(0, far), rng)
    radius = rng.randrange(low, high + 1, step)
    polygon_odds = {"truck": 0.0, "construction": 0.35, "plant": 0.2, "ship": 0.5, "grid": 0.2,
                    "tank": 0.0}[kind]
    if rng.random() < polygon_odds:
        sides = 8 if kind == "ship" else 4
        return {"lat": lat, "lon": lon, "polygon": _ring(lat, lon, radius, sides, rng)}
    return {"lat": lat, "lon": lon, "radius_m": radius}


def _near(place: Place, distance_m: float, rng: random.Random) -> tuple[float, float]:
    bearing = rng.uniform(0, 2 * math.pi)
    lat, lon = to_latlon(place.lat, place.lon, distance_m * math.sin(bearing),
                         distance_m * math.cos(bearing))
    return round(lat, 6), round(lon, 6)


def _ring(lat: float, lon: float, radius_m: float, sides: int,
          rng: random.Random) -> list[list[float]]:
    """A closed [lon, lat] ring: a rotated rectangle (4) or an octagon (8) around the anchor."""
    turn = rng.uniform(0, math.pi / 2)
    aspect = rng.uniform(0.8, 1.0) if sides == 4 else 1.0
    ring = []
    for i in range(sides):
        angle = turn + (2 * i + 1) * math.pi / sides
        x, y = radius_m * math.cos(angle), radius_m * math.sin(angle) * aspect
        p_lat, p_lon = to_latlon(lat, lon, x, y)
        ring.append([round(p_lon, 6), round(p_lat, 6)])
    return [*ring, list(ring[0])]


def _script_incidents(assets: Sequence[dict[str, Any]],
                      rng: random.Random) -> list[dict[str, Any]]:
    per_kind = max(1, len(assets) // _ASSETS_PER_INCIDENT)
    used: set[str] = set()
    out: list[dict[str, Any]] = []
    for _ in range(per_kind):
        for kind in DEMO_INCIDENT_KINDS:
            asset = _pick(assets, _INCIDENT_KINDS_PREFERRED[kind], used, rng)
            if asset is None:
                return out
            used.add(asset["id"])
            row: dict[str, Any] = {"kind": kind, "asset_id": asset["id"],
                                   "start_s": INCIDENT_START_S + 60 * rng.randrange(11)}
            params = _incident_params(kind, rng)
            if params:
                row["params"] = params
            out.append(row)
    return out


def _pick(assets: Sequence[dict[str, Any]], kinds: Sequence[str], used: set[str],
          rng: random.Random) -> dict[str, Any] | None:
    free = [a for a in assets if a["id"] not in used]
    for kind in kinds:
        fitting = [a for a in free if a["kind"] == kind]
        if fitting:
            return rng.choice(fitting)
    return rng.choice(free) if free else None


def _incident_params(kind: str, rng: random.Random) -> dict[str, Any]:
    if kind == "relocation":
        return {"distance_m": rng.randrange(5000, 10001, 500),
                "tow_speed_kmh": rng.randrange(20, 41, 5), "bearing_deg": rng.randrange(360)}
    if kind == "tamper":
        return {"case_opened": True, "ext_power_cut": True}
    return {}
