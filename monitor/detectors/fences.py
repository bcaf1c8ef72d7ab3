"""Where a fix lies against a pledged site: inside, in the margin band, or outside.

Circle sites are judged by haversine distance, no shapely. Polygon sites are
projected once onto a local plane (metres east/north of the anchor, fine for
fences of a few km) and held as a prepared shapely geometry; two discs around
the anchor, one inside the polygon and one enclosing it, answer most fixes
before shapely is asked.

>>> fence = build_fence(Site(48.0, 11.0, radius_m=200), default_radius_m=500)
>>> [fence.classify(lat, 11.0, margin_m=50) for lat in (48.001, 48.0021, 48.003)]
[0, 1, 2]
"""

from __future__ import annotations

from math import asin, cos, hypot, radians, sin, sqrt
from typing import Protocol

import shapely

from monitor.model import Site

__all__ = ["DEEP", "INSIDE", "BAND", "OUTSIDE", "M_PER_DEG", "Fence", "build_fence",
           "haversine_m", "to_xy", "to_latlon"]

DEEP, INSIDE, BAND, OUTSIDE = -1, 0, 1, 2
EARTH_RADIUS_M = 6_371_008.8
_DEG = radians(1.0)
M_PER_DEG = EARTH_RADIUS_M * _DEG


def to_xy(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """Metres east and north of (lat0, lon0) on a flat plane (fine for a few km)."""
    return (lon - lon0) * M_PER_DEG * cos(lat0 * _DEG), (lat - lat0) * M_PER_DEG


def to_latlon(lat0: float, lon0: float, x_m: float, y_m: float) -> tuple[float, float]:
    """The inverse of ``to_xy``."""
    return lat0 + y_m / M_PER_DEG, lon0 + x_m / (M_PER_DEG * cos(lat0 * _DEG))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    s1 = sin((lat2 - lat1) * _DEG * 0.5)
    s2 = sin((lon2 - lon1) * _DEG * 0.5)
    a = s1 * s1 + cos(lat1 * _DEG) * cos(lat2 * _DEG) * s2 * s2
    return 2.0 * EARTH_RADIUS_M * asin(sqrt(min(a, 1.0)))


class Fence(Protocol):
    def classify(self, lat: float, lon: float, margin_m: float, deep_m: float = 0.0) -> int:
        """INSIDE within the fence, OUTSIDE beyond it by more than ``margin_m``, else BAND;
        DEEP (given ``deep_m``) if surely more than ``deep_m`` inside, a cheap test that may
        call a deep fix INSIDE, never a shallow one DEEP."""
        ...

    def excess_m(self, lat: float, lon: float, floor_m: float) -> float:
        """Metres beyond the fence (negative inside), but never below ``-floor_m``."""
        ...


class CircleFence:
    __slots__ = ("_lat", "_lon", "_radius_m", "_cos_lat", "_a_in", "_deep")

    def __init__(self, lat: float, lon: float, radius_m: float) -> None:
        self._lat, self._lon, self._radius_m = lat, lon, radius_m
        self._cos_lat = cos(lat * _DEG)
        # The haversine term at the radius: most fixes are decided without asin/sqrt.
        self._a_in = sin(min(radius_m / (2.0 * EARTH_RADIUS_M), 1.5)) ** 2
        self._deep: tuple[float, float] = (-1.0, 0.0)  # (depth, its haversine term), last asked

    def classify(self, lat: float, lon: float, margin_m: float, deep_m: float = 0.0) -> int:
        s1 = sin((lat - self._lat) * _DEG * 0.5)
        s2 = sin((lon - self._lon) * _DEG * 0.5)
        a = s1 * s1 + self._cos_lat * cos(lat * _DEG) * s2 * s2
        if a <= self._a_in:
            return DEEP if deep_m and a < self._a_deep(deep_m) else INSIDE
        excess = 2.0 * EARTH_RADIUS_M * asin(sqrt(min(a, 1.0))) - self._radius_m
        return OUTSIDE if excess > margin_m else BAND

    def _a_deep(self, deep_m: float) -> float:
        """The haversine term ``deep_m`` inside the circle (-1 if it has no such depth)."""
        depth, a_deep = self._deep
        if depth != deep_m:
            inner = self._radius_m - deep_m
            a_deep = sin(min(inner / (2.0 * EARTH_RADIUS_M), 1.5)) ** 2 if inner > 0 else -1.0
            self._deep = (deep_m, a_deep)
        return a_deep

    def excess_m(self, lat: float, lon: float, floor_m: float) -> float:
        s1 = sin((lat - self._lat) * _DEG * 0.5)
        s2 = sin((lon - self._lon) * _DEG * 0.5)
        a = s1 * s1 + self._cos_lat * cos(lat * _DEG) * s2 * s2
        excess = 2.0 * EARTH_RADIUS_M * asin(sqrt(min(a, 1.0))) - self._radius_m
        return excess if excess > -floor_m else -floor_m


class PolygonFence:
    __slots__ = ("_lat0", "_lon0", "_kx", "_ky", "_shape", "_r_in", "_r_in2", "_r_out")

    def __init__(self, anchor_lat: float, anchor_lon: float,
                 ring: tuple[tuple[float, float], ...]) -> None:
        self._lat0, self._lon0 = anchor_lat, anchor_lon
        self._ky = M_PER_DEG  # to_xy's factors, for the inline projection in classify
        self._kx = self._ky * cos(anchor_lat * _DEG)
        points = [to_xy(anchor_lat, anchor_lon, lat, lon) for lon, lat in ring]
        shape = shapely.make_valid(shapely.Polygon(points))
        shapely.prepare(shape)
        self._shape = shape
        origin = shapely.Point(0.0, 0.0)
        inner = float(shapely.distance(shape.boundary, origin)) if shape.contains(origin) else 0.0
        self._r_in, self._r_in2 = inner, inner * inner
        self._r_out = max(hypot(x, y) for x, y in points)

    def classify(self, lat: float, lon: float, margin_m: float, deep_m: float = 0.0) -> int:
        x = (lon - self._lon0) * self._kx
        y = (lat - self._lat0) * self._ky
        d2 = x * x + y * y
        if d2 < self._r_in2:
            if deep_m:
                inner = self._r_in - deep_m  # the disc that fits inside, less the depth
                if inner > 0.0 and d2 < inner * inner:
                    return DEEP
            return INSIDE
        if sqrt(d2) - self._r_out > margin_m:
            return OUTSIDE
        if shapely.contains_xy(self._shape, x, y):
            return INSIDE
        excess = float(shapely.distance(self._shape, shapely.Point(x, y)))
        return OUTSIDE if excess > margin_m else BAND

    def excess_m(self, lat: float, lon: float, floor_m: float) -> float:
        x = (lon - self._lon0) * self._kx
        y = (lat - self._lat0) * self._ky
        d = sqrt(x * x + y * y)
        if d * d < self._r_in2 and sqrt(self._r_in2) - d >= floor_m:
            return -floor_m  # deep inside the inner disc: no shapely call
        point = shapely.Point(x, y)
        if shapely.contains_xy(self._shape, x, y):
            return max(-float(shapely.distance(self._shape.boundary, point)), -floor_m)
        return float(shapely.distance(self._shape, point))


def build_fence(site: Site, default_radius_m: float) -> Fence:
    """The site's fence; a site with neither polygon nor radius gets ``default_radius_m``."""
    if site.polygon is not None and len(site.polygon) >= 3:
        return PolygonFence(site.lat, site.lon, site.polygon)
    radius = site.radius_m if site.radius_m is not None else default_radius_m
    return CircleFence(site.lat, site.lon, radius)
