"""Places and flat-earth helpers for the simulated fleet.

Sites sit around real ports and industrial zones in China (approximate
public coordinates). Movement is computed in metres east/north of an asset's
anchor and turned into WGS84 degrees only when a tracker reports: over a few
hundred kilometres the error of this local projection is well under 1%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "EARTH_RADIUS_M",
    "Place",
    "Region",
    "REGIONS",
    "LAND_PLACES",
    "haversine_m",
    "to_latlon",
    "to_xy",
    "nearest_region",
]

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Region:
    """One industrial area: sites for land assets, customers, a port and open water."""

    name: str
    industrial: tuple[Place, ...]
    customers: tuple[Place, ...]
    port: Place
    sea: tuple[tuple[float, float], ...]  # (lat, lon) points on open water within ~80 km


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres.

    >>> round(haversine_m(31.0, 121.0, 31.0, 122.0) / 1000, 1)
    95.3
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def to_latlon(lat0: float, lon0: float, x_m: float, y_m: float) -> tuple[float, float]:
    """Degrees of the point ``x_m`` east and ``y_m`` north of (lat0, lon0).

    >>> to_latlon(31.0, 121.0, 0.0, 1000.0)[0] - 31.0 > 0.0089
    True
    """
    lat = lat0 + math.degrees(y_m / EARTH_RADIUS_M)
    lon = lon0 + math.degrees(x_m / (EARTH_RADIUS_M * math.cos(math.radians(lat0))))
    return lat, lon


def to_xy(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """Metres east and north of (lat0, lon0); the inverse of ``to_latlon``."""
    y = math.radians(lat - lat0) * EARTH_RADIUS_M
    x = math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    return x, y


def nearest_region(lat: float, lon: float) -> tuple[Region, float]:
    """The region whose port is closest, and that distance in metres."""
    best = min(REGIONS, key=lambda r: haversine_m(lat, lon, r.port.lat, r.port.lon))
    return best, haversine_m(lat, lon, best.port.lat, best.port.lon)


def _places(*rows: tuple[str, float, float]) -> tuple[Place, ...]:
    return tuple(Place(*row) for row in rows)


REGIONS: tuple[Region, ...] = (
    Region(
        "Shanghai",
        _places(
            ("Jinqiao Export Processing Zone", 31.262, 121.617),
            ("Waigaoqiao Free Trade Zone", 31.335, 121.590),
            ("Songjiang Industrial Zone", 31.020, 121.225),
            ("Jiading Industrial Zone", 31.375, 121.250),
            ("Lingang Industrial Area", 30.900, 121.930),
            ("Minhang Economic Development Zone", 31.020, 121.390),
            ("Jinshan Industrial Park", 30.760, 121.300),
        ),
        _places(
            ("Kunshan", 31.385, 120.980), ("Suzhou Industrial Park", 31.320, 120.720),
            ("Wuxi", 31.490, 120.310), ("Jiaxing", 30.750, 120.760),
            ("Taicang", 31.460, 121.130), ("Changshu", 31.650, 120.750),
            ("Nantong", 31.980, 120.890), ("Pinghu", 30.700, 121.020),
            ("Haining", 30.510, 120.680), ("Hangzhou Xiaoshan", 30.180, 120.270),
            ("Huzhou", 30.870, 120.090), ("Zhangjiagang", 31.870, 120.550),
        ),
        Place("Yangshan Deep-Water Port", 30.627, 122.065),
        ((30.900, 122.550), (31.100, 122.400), (30.450, 122.650), (30.700, 122.800)),
    ),
    Region(
        "Ningbo",
        _places(
            ("Beilun Port Industrial Zone", 29.900, 121.840),
            ("Daqi Industrial Park", 29.880, 121.960),
            ("Zhenhai Petrochemical Zone", 29.980, 121.700),
            ("Yinzhou Industrial Park", 29.820, 121.560),
            ("Hangzhou Bay New Zone", 30.300, 121.300),
            ("Yuyao Industrial Park", 30.040, 121.160),
        ),
        _places(
            ("Cixi", 30.170, 121.270), ("Shaoxing", 30.000, 120.580),
            ("Shangyu", 30.030, 120.870), ("Fenghua", 29.660, 121.410),
            ("Ninghai", 29.290, 121.430), ("Taizhou", 28.660, 121.420),
            ("Xiangshan", 29.480, 121.870),
        ),
        Place("Ningbo-Zhoushan Port, Beilun", 29.935, 121.880),
        ((29.950, 122.550), (29.600, 122.450), (30.250, 122.600), (29.850, 122.700)),
    ),
    Region(
        "Shenzhen",
        _places(
            ("Bao'an Industrial Zone", 22.650, 113.850),
            ("Longgang Industrial Park", 22.720, 114.250),
            ("Pingshan Industrial Area", 22.690, 114.350),
            ("Guangming Hi-tech Park", 22.770, 113.930),
            ("Yantian Port Logistics Park", 22.590, 114.260),
        ),
        _places(
            ("Dongguan", 23.020, 113.750), ("Huizhou", 23.110, 114.410),
            ("Huiyang", 22.790, 114.460), ("Chang'an", 22.810, 113.810),
            ("Humen", 22.820, 113.670),
        ),
        Place("Yantian International Container Terminals", 22.575, 114.275),
        ((22.480, 114.420), (22.200, 114.400), (22.300, 114.750), (22.050, 114.200)),
    ),
    Region(
        "Guangzhou",
        _places(
            ("Huangpu Industrial Zone", 23.100, 113.480),
            ("Nansha Economic Zone", 22.750, 113.550),
            ("Panyu Industrial Park", 22.940, 113.380),
            ("Shunde Industrial Zone", 22.840, 113.250),
            ("Zengcheng Industrial Park", 23.290, 113.810),
        ),
        _places(
            ("Foshan", 23.020, 113.120), ("Zhongshan", 22.520, 113.390),
            ("Jiangmen", 22.580, 113.080), ("Zhuhai", 22.270, 113.570),
            ("Qingyuan", 23.680, 113.050), ("Zhaoqing", 23.050, 112.470),
            ("Conghua", 23.550, 113.590),
        ),
        Place("Nansha Port", 22.660, 113.680),
        ((22.450, 113.780), (22.250, 113.800), (22.050, 113.700), (22.000, 113.950)),
    ),
    Region(
        "Tianjin",
        _places(
            ("Tianjin Economic-Technological Development Area", 39.050, 117.700),
            ("Tianjin Port Free Trade Zone", 39.000, 117.760),
            ("Xiqing Economic Development Area", 39.140, 117.010),
            ("Dongli Airport Economic Area", 39.090, 117.350),
            ("Nangang Industrial Zone", 38.780, 117.550),
            ("Wuqing Development Area", 39.380, 117.040),
        ),
        _places(
            ("Langfang", 39.530, 116.700), ("Beijing Yizhuang", 39.790, 116.510),
            ("Tangshan", 39.630, 118.180), ("Cangzhou", 38.300, 116.840),
            ("Huanghua", 38.370, 117.330), ("Caofeidian", 39.220, 118.460),
            ("Baodi", 39.720, 117.310), ("Jinghai", 38.940, 116.930),
            ("Bazhou", 39.120, 116.390),
        ),
        Place("Tianjin Port", 38.975, 117.790),
        ((38.950, 118.150), (38.750, 118.350), (38.850, 118.550), (38.600, 118.100)),
    ),
    Region(
        "Qingdao",
        _places(
            ("Qingdao West Coast New Area", 35.960, 120.180),
            ("Jiaozhou Economic Development Zone", 36.280, 120.030),
            ("Jimo Industrial Park", 36.390, 120.450),
            ("Chengyang Industrial Zone", 36.310, 120.400),
            ("Qingdao Hi-tech Zone", 36.300, 120.290),
        ),
        _places(
            ("Pingdu", 36.780, 119.960), ("Laixi", 36.890, 120.520),
            ("Weifang", 36.710, 119.160), ("Gaomi", 36.380, 119.760),
            ("Zhucheng", 35.990, 119.410), ("Rizhao", 35.420, 119.530),
            ("Laiyang", 36.980, 120.710), ("Haiyang", 36.780, 121.160),
        ),
        Place("Qingdao Qianwan Container Terminal", 36.000, 120.210),
        ((35.900, 120.450), (35.700, 120.550), (36.000, 120.800), (35.600, 120.350)),
    ),
)

#: Every named land point, for truck customers across neighbouring regions.
LAND_PLACES: tuple[Place, ...] = tuple(
    p for r in REGIONS for p in (*r.industrial, *r.customers)
)
