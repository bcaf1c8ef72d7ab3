"""Pledged sites and operating areas as GeoJSON (RFC 7946), validated and bounded.

A site is stored as ``{"lat", "lon", "radius_m"}`` (anchor + radius) or
``{"lat", "lon", "polygon": [[lon, lat], ...]}``; on the API it is a GeoJSON
Feature: a Point with ``properties.radius_m``, or a Polygon (its anchor in
``properties.anchor`` or, if absent, the polygon's representative point).

>>> site_to_feature({"lat": 31.2, "lon": 121.4, "radius_m": 500.0})["geometry"]
{'type': 'Point', 'coordinates': [121.4, 31.2]}
>>> feature_to_site(site_to_feature({"lat": 31.2, "lon": 121.4, "radius_m": 500.0}))
{'lat': 31.2, 'lon': 121.4, 'radius_m': 500.0}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from shapely.geometry import Polygon

__all__ = [
    "MAX_VERTICES",
    "MAX_RADIUS_M",
    "Position",
    "PointGeometry",
    "PolygonGeometry",
    "SiteFeature",
    "check_ring",
    "feature_to_site",
    "site_to_feature",
]

#: More vertices than any real site needs; a bigger polygon is refused, not stored.
MAX_VERTICES = 10_000
MAX_RADIUS_M = 2_000_000.0

Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Position = tuple[Lon, Lat]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_ring(ring: list[tuple[float, float]]) -> None:
    """A closed, valid linear ring of [lon, lat] positions, or ValueError saying why."""
    if len(ring) < 4:
        raise ValueError("a polygon ring needs at least 4 positions (closed)")
    if tuple(ring[0]) != tuple(ring[-1]):
        raise ValueError("polygon ring must be closed (first position == last position)")
    if not Polygon(ring).is_valid:
        raise ValueError("polygon is not valid (self-intersecting or degenerate)")


class PointGeometry(_Strict):
    type: Literal["Point"]
    coordinates: Position


class PolygonGeometry(_Strict):
    """One outer ring; holes are not used for sites and are refused."""

    type: Literal["Polygon"]
    coordinates: list[list[Position]] = Field(min_length=1, max_length=1)

    @model_validator(mode="after")
    def _valid(self) -> PolygonGeometry:
        ring = self.coordinates[0]
        if len(ring) > MAX_VERTICES:
            raise ValueError(f"polygon has {len(ring)} positions; at most {MAX_VERTICES}")
        check_ring(ring)
        return self


class SiteProperties(_Strict):
    radius_m: float | None = Field(default=None, gt=0, le=MAX_RADIUS_M)
    anchor: Position | None = None


class SiteFeature(_Strict):
    """A pledged site: a Point with ``radius_m``, or a Polygon."""

    type: Literal["Feature"]
    geometry: PointGeometry | PolygonGeometry = Field(discriminator="type")
    properties: SiteProperties = SiteProperties()

    @model_validator(mode="after")
    def _shape(self) -> SiteFeature:
        is_point = isinstance(self.geometry, PointGeometry)
        if is_point and self.properties.radius_m is None:
            raise ValueError("a Point site needs properties.radius_m (metres)")
        if not is_point and self.properties.radius_m is not None:
            raise ValueError("a Polygon site takes no radius_m")
        return self


def feature_to_site(feature: SiteFeature | dict[str, Any]) -> dict[str, Any]:
    """The stored form of a validated site feature."""
    site = feature if isinstance(feature, SiteFeature) else SiteFeature.model_validate(feature)
    geometry = site.geometry
    if isinstance(geometry, PointGeometry):
        lon, lat = geometry.coordinates
        return {"lat": lat, "lon": lon, "radius_m": site.properties.radius_m}
    ring = [[lon, lat] for lon, lat in geometry.coordinates[0]]
    if site.properties.anchor is not None:
        lon, lat = site.properties.anchor
    else:
        point = Polygon(ring).representative_point()
        lon, lat = point.x, point.y
    return {"lat": lat, "lon": lon, "polygon": ring}


def site_to_feature(site: dict[str, Any]) -> dict[str, Any]:
    """The GeoJSON Feature of a stored site."""
    if "polygon" in site:
        return {"type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [site["polygon"]]},
                "properties": {"anchor": [site["lon"], site["lat"]]}}
    return {"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
            "properties": {"radius_m": site["radius_m"]}}
