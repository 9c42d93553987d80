"""Ports everywhere: the shipped global port table and a vectorised nearest-port lookup.

The table (``ais/data/ports.csv``, see ``ais/data/PORTS.md``) holds the 3,962 ports of the
``searoute`` package (Apache-2.0, UN/LOCODEs), with the DPRK and Russian Far East entries
checked and completed (Nampo's oil terminal, container and coal piers, Songnim, Taean, Haeju,
Chongjin, Najin's piers, Rajin/Sonbong; Posyet, Zarubino, Slavyanka, Vladivostok, Nakhodka,
Vostochny, Dunay, Konyushkovo, Bolshoy Kamen), each row with its source and an uncertainty.

:func:`nearest_port` answers for any number of points at once from a k-d tree of the ports'
unit vectors (:class:`ais.geography.geo.SphereTree`; no loop over ports). The ports
configured in ``[[places]]`` (Nampo and Najin by default, with their own radii) are part of the
same index, so every "in port" rule, ``distance_to_port_km`` and ``nearest_port`` use one
answer wherever an event is, with or without ``--everywhere``. A table port's zone is
``cfg.ports.zone_km`` around its point, or its own ``radius_km`` where the table gives one
(2 km for single piers and terminals).
"""

from __future__ import annotations

import functools
import threading
from importlib import resources

import numpy as np
import pandas as pd

from ais.config import Config
from ais.geography.geo import SphereTree
from ais.geography.places import Place

PORTS_FILE = "ports.csv"
TABLE_COLUMNS = ("name", "locode", "country", "lat", "lon", "radius_km", "source",
                 "uncertainty_km")


@functools.cache
def port_table() -> pd.DataFrame:
    """The shipped port table (read once per process)."""
    with resources.files("ais").joinpath("data", PORTS_FILE).open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype={"locode": str, "country": str}, keep_default_na=False)
    table["lat"] = table["lat"].astype(float)
    table["lon"] = table["lon"].astype(float)
    table["radius_km"] = pd.to_numeric(table["radius_km"], errors="coerce")  # "" = zone_km
    return table[list(TABLE_COLUMNS)]


class PortIndex:
    """Named port points with a zone radius each, searchable by nearest neighbour."""

    def __init__(self, names: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                 radius_km: np.ndarray) -> None:
        self.names = np.asarray(names, dtype=object)
        self.radius_km = np.asarray(radius_km, dtype=float)
        self.lat = np.asarray(lat, dtype=float)
        self.lon = np.asarray(lon, dtype=float)
        self._tree = SphereTree(self.lat, self.lon) if len(self.names) else None

    def __len__(self) -> int:
        return len(self.names)

    def nearest(self, lat: np.ndarray, lon: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(name, distance_km, inside) of the nearest port of each point: "" and inf where
        there is no port or the point is not finite; inside is within that port's radius."""
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        n = len(lat)
        names = np.full(n, "", dtype=object)
        dist = np.full(n, np.inf)
        inside = np.zeros(n, dtype=bool)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if self._tree is None or not ok.any():
            return names, dist, inside
        km, idx = self._tree.nearest(lat[ok], lon[ok])
        dist[ok] = km
        names[ok] = self.names[idx]
        inside[ok] = dist[ok] <= self.radius_km[idx]
        return names, dist, inside


@functools.lru_cache(maxsize=8)
def _index(places: tuple[Place, ...], table: bool, zone_km: float) -> PortIndex:
    ports = [p for p in places if p.kind == "port"]
    names = [p.name for p in ports]
    lat = [p.lat for p in ports]
    lon = [p.lon for p in ports]
    radius = [p.radius_km for p in ports]
    if table:
        t = port_table()
        names += t["name"].tolist()
        lat += t["lat"].tolist()
        lon += t["lon"].tolist()
        radius += t["radius_km"].fillna(zone_km).tolist()
    return PortIndex(np.array(names, dtype=object), np.array(lat), np.array(lon),
                     np.array(radius))


_BUILD = threading.Lock()  # the detectors' threads ask at once: build the index once


def port_index(cfg: Config) -> PortIndex:
    """The ports of ``cfg``: its configured ports and, unless ``[ports] table = false``, the
    shipped table (built once per distinct configuration, about 0.1 s)."""
    with _BUILD:
        return _index(tuple(cfg.places), cfg.ports.table, cfg.ports.zone_km)


def nearest_port(lat: np.ndarray, lon: np.ndarray, cfg: Config
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point, ``(name, distance_km, inside)`` of the nearest port of ``cfg``
    (see :class:`PortIndex`)."""
    return port_index(cfg).nearest(lat, lon)
