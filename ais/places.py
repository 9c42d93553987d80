"""Default watch areas, ports and anchorages near Nampo and Najin, each with its source.

Coordinates are decimal degrees (WGS 84). ``uncertainty_km`` is our honest estimate of how far
the real place may be from the point given; treat every position here as approximate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """A named point with a radius: a port, an anchorage or a reported transfer site."""

    name: str
    kind: str  # "port", "anchorage" or "sts_site"
    lat: float
    lon: float
    radius_km: float
    source: str = "unspecified"
    uncertainty_km: float = float("nan")

    def __post_init__(self) -> None:
        if self.kind not in ("port", "anchorage", "sts_site"):
            raise ValueError(f"place {self.name!r}: kind must be port, anchorage or sts_site")


@dataclass(frozen=True)
class WatchArea:
    """A circle (centre + radius) or polygon in which events are reported by default."""

    name: str
    lat: float
    lon: float
    radius_km: float
    source: str = "unspecified"
    polygon: tuple[tuple[float, float], ...] | None = None  # ((lon, lat), ...) if not a circle


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
