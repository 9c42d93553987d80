"""Default watch areas, ports and anchorages near Nampo and Najin, each with its source.

Coordinates are decimal degrees (WGS 84). ``uncertainty_km`` is our honest estimate of how far
the real place may be from the point given; treat every position here as approximate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon

from ais.errors import ConfigError
from ais.validate import check_fields, label, toml_value

KINDS = ("port", "anchorage", "sts_site")

_POSITION_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "lat": (-90.0, 90.0), "lon": (-180.0, 180.0)}


def _named(obj: Any) -> None:
    if not obj.name.strip():
        raise ConfigError(f"{label(obj)} name = {toml_value(obj.name)}: a name is required "
                          "(it is what the CSV's area or nearest_port column shows)")


@dataclass(frozen=True)
class Place:
    """A named point with a radius: a port, an anchorage or a reported transfer site."""

    SECTION = "places"
    LIMITS = {**_POSITION_LIMITS, "radius_km": (0.001, 100.0), "uncertainty_km": (0.0, None)}
    HINTS = {"lat": "latitude in degrees north (south negative)",
             "lon": "longitude in degrees east (west negative)",
             "radius_km": "the port zone's or anchorage's radius in km"}

    name: str
    kind: str  # "port", "anchorage" or "sts_site"
    lat: float
    lon: float
    radius_km: float
    source: str = "unspecified"
    uncertainty_km: float = float("nan")

    def __post_init__(self) -> None:
        check_fields(self)
        _named(self)
        if self.kind not in KINDS:
            raise ConfigError(f"{label(self)} kind = {toml_value(self.kind)}: must be one of "
                              "port, anchorage or sts_site")


#: A circle wider than this is not a watch area (``--everywhere`` reports events anywhere).
MAX_AREA_RADIUS_KM = 5000.0


@dataclass(frozen=True)
class WatchArea:
    """A circle (centre + radius) or polygon in which events are reported by default.

    ``polygon`` is one ring of (lon, lat) pairs; ``geometry`` a shapely Polygon or
    MultiPolygon (holes included), made from ``polygon`` when not given. ``lat``/``lon`` of
    a polygon area are the middle of its bounds and ``radius_km`` is 0.
    """

    SECTION = "areas"
    LIMITS = {**_POSITION_LIMITS, "radius_km": (0.0, MAX_AREA_RADIUS_KM)}
    HINTS = {**Place.HINTS, "radius_km": "the circle's radius in km (to report events "
                                         "anywhere, pass --everywhere instead)"}

    name: str
    lat: float
    lon: float
    radius_km: float
    source: str = "unspecified"
    polygon: tuple[tuple[float, float], ...] | None = None  # ((lon, lat), ...) if not a circle
    geometry: Any = None  # shapely Polygon or MultiPolygon

    def __post_init__(self) -> None:
        check_fields(self)
        _named(self)
        geometry = self.geometry
        if geometry is None and self.polygon:
            geometry = polygon_of(self.polygon, label(self))
            object.__setattr__(self, "geometry", geometry)
        if geometry is None:
            if not self.radius_km > 0:
                raise ConfigError(f"{label(self)} radius_km = {toml_value(self.radius_km)}: a "
                                  "circle needs a radius greater than 0 (in km), or give a "
                                  "polygon or geojson instead")
            return
        check_geometry(geometry, label(self))
        shapely.prepare(geometry)  # many points are tested against it


def polygon_of(ring: Any, where: str) -> Polygon:
    """A polygon from one ring of [lon, lat] points, or a ConfigError saying what is wrong."""
    try:
        points = [(float(x), float(y)) for x, y in ring]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} polygon: must be a list of [lon, lat] number pairs, e.g. "
                          "polygon = [[124.5, 38.2], [125.5, 38.2], [125.0, 39.0]]") from exc
    if len(set(points)) < 3:
        raise ConfigError(f"{where} polygon: needs at least 3 distinct [lon, lat] points")
    return Polygon(points)


def check_geometry(geometry: Any, where: str) -> None:
    """Refuse a geometry that is not a non-empty, valid (multi)polygon in lon/lat degrees.

    Raises:
        ConfigError: naming the area, what is wrong (e.g. where it intersects itself) and
            the fix.
    """
    if not isinstance(geometry, (Polygon, MultiPolygon)):
        raise ConfigError(f"{where}: must be a Polygon or MultiPolygon, not "
                          f"{geometry.geom_type}; draw the area as a polygon")
    if geometry.is_empty:
        raise ConfigError(f"{where}: the polygon is empty; give at least 3 [lon, lat] points "
                          "that enclose the area")
    if not geometry.is_valid:
        raise ConfigError(f"{where}: the polygon is not valid ({shapely.is_valid_reason(geometry)}"
                          "); fix it, e.g. with QGIS's 'Fix geometries' or shapely's "
                          "make_valid, so that its edges do not cross")
    if not geometry.area > 0:
        raise ConfigError(f"{where}: the polygon has no area (its points lie on a line); give "
                          "at least 3 [lon, lat] points that enclose the area")
    lon0, lat0, lon1, lat1 = geometry.bounds
    if not (-180 <= lon0 and lon1 <= 180 and -90 <= lat0 and lat1 <= 90):
        raise ConfigError(f"{where}: coordinates outside lon -180..180 / lat -90..90 "
                          f"(bounds {geometry.bounds}); points are [lon, lat], longitude first")


NAMPO_PORT = Place(
    "Nampo", "port", 38.7167, 125.4000, 5.0,
    "World Port Index (NGA Pub. 150), Nampo", 2.0,
)
NAJIN_PORT = Place(
    "Najin", "port", 42.2333, 130.3000, 4.0,
    "World Port Index (NGA Pub. 150), Najin", 2.0,
)
NAMPO_ANCHORAGE_N = Place(
    "Nampo anchorage 38-45N 125-20E", "anchorage", 38.75, 125.3333, 3.0,
    "unverified anchorage position quoted in DESIGN.md (38°45'N 125°20'E)", 5.0,
)
NAMPO_ANCHORAGE_S = Place(
    "Nampo anchorage 38-40N 125-25E", "anchorage", 38.6667, 125.4167, 3.0,
    "unverified anchorage position quoted in DESIGN.md (38°40'N 125°25'E)", 5.0,
)
NAJIN_ANCHORAGE = Place(
    "Najin outer anchorage", "anchorage", 42.2000, 130.3500, 3.0,
    "estimated from the bay's geometry south-east of the WPI port point; unverified", 5.0,
)
SOK_TO = Place(
    "Sok-to", "sts_site", 38.62, 125.08, 10.0,
    "reported STS site about 30 km south-west of Nampo (UN Panel of Experts reports); "
    "position estimated from that description", 10.0,
)
CHODO_NW = Place(
    "North-west of Chodo", "sts_site", 38.62, 124.78, 15.0,
    "reported STS waters north-west of Chodo (UN Panel of Experts reports); estimated", 15.0,
)

NAMPO_AREA = WatchArea(
    "Nampo", 38.60, 125.10, 150.0,
    "circle covering the eastern Korea Bay approaches to Nampo, Sok-to and Chodo",
)
NAJIN_AREA = WatchArea(
    "Najin", 42.25, 130.40, 150.0,
    "circle covering the Rason coast from Chongjin's approaches to the Tumen mouth",
)

DEFAULT_PLACES: tuple[Place, ...] = (
    NAMPO_PORT, NAJIN_PORT, NAMPO_ANCHORAGE_N, NAMPO_ANCHORAGE_S, NAJIN_ANCHORAGE,
    SOK_TO, CHODO_NW,
)
DEFAULT_AREAS: tuple[WatchArea, ...] = (NAMPO_AREA, NAJIN_AREA)
