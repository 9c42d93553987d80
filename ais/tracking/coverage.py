"""Where and when the data can see: the data window of a scan and each vessel's own cadence.

A file of AIS is a window on the world, not the world: a regional extract has edges that
ships sail across, satellite-only vessels are heard every half hour, and a receiver hears
nothing outside its range. The time-based detectors take this window as an argument
(DESIGN: "detectors take the data window instead of inferring it from their frame"):

* :class:`DataWindow`: the time span of the data and its spatial extent: the reports'
  0.05-degree cells (about 5 km; ten million pings cost one hash of their cells), grouped
  into regions of touching 0.5-degree cells, each region's extent the convex hull of its
  cells (an extract around two ports 600 km apart is two regions, not the land between).
  :meth:`DataWindow.edge_km` is a position's distance to the edge of its region (negative
  outside every region); :meth:`DataWindow.exit_km` how far a vessel sails on a course
  before it leaves it. A vessel last seen near the edge, or sailing out and able to leave
  before it would be missed, has left the data; it has not gone dark.
  :func:`window_around` is the window of a known extract (a circle).
* :func:`allowed_gap_h`: the longest silence a run may bridge for a track of a given median
  interval: a satellite reporter heard every 15-45 minutes is not "silent" after an hour,
  and its slow runs and meetings are not cut at every missed pass.
* :func:`near_land`: land within a few km on the 1 km grid (harbour stays).

Distances are measured in each position's local tangent plane (metres-scale error over the
few hundred kilometres that matter here); longitudes wrap at +-180 degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ais.db import EARTH_RADIUS_KM
from ais.tracking.tracks import epoch_us

#: Cell size (degrees) of the positions the hull is computed from.
HULL_CELL_DEG = 0.05
#: Cell size (degrees) of the grid whose touching occupied cells make one region.
REGION_CELL_DEG = 0.5
_KM_PER_DEG = np.pi * EARTH_RADIUS_KM / 180.0


@dataclass(frozen=True)
class _Hull:
    """One convex region of the data: vertices counter-clockwise (degrees)."""

    lat: np.ndarray
    lon: np.ndarray

    def _local(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vertices in km east/north of each position: arrays (n points, k vertices)."""
        lat = np.asarray(lat, float)[:, None]
        lon = np.asarray(lon, float)[:, None]
        dlon = (self.lon[None, :] - lon + 180.0) % 360.0 - 180.0
        return (dlon * np.cos(np.radians(lat)) * _KM_PER_DEG,
                (self.lat[None, :] - lat) * _KM_PER_DEG)

    def edge_km(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        if len(self.lat) < 3:
            return np.zeros(len(lat))
        x, y = self._local(lat, lon)
        ex, ey = np.roll(x, -1, axis=1) - x, np.roll(y, -1, axis=1) - y
        s = np.clip(-(x * ex + y * ey) / np.maximum(ex * ex + ey * ey, 1e-12), 0.0, 1.0)
        dist = np.hypot(x + s * ex, y + s * ey).min(axis=1)
        # counter-clockwise: the origin is inside when it is left of every edge
        inside = np.all(ex * (-y) - ey * (-x) >= -1e-9, axis=1)
        return np.where(inside, dist, -dist)

    def exit_km(self, lat: np.ndarray, lon: np.ndarray, course: np.ndarray) -> np.ndarray:
        if len(self.lat) < 3:
            return np.zeros(len(lat))
        x, y = self._local(lat, lon)
        dx, dy = np.sin(np.radians(course))[:, None], np.cos(np.radians(course))[:, None]
        ex, ey = np.roll(x, -1, axis=1) - x, np.roll(y, -1, axis=1) - y
        den = dx * ey - dy * ex  # origin + t d = a + s e
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (x * ey - y * ex) / den
            s = (x * dy - y * dx) / den
        hit = (np.abs(den) > 1e-12) & (t >= 0) & (s >= -1e-9) & (s <= 1 + 1e-9)
        far = np.where(hit, t, -np.inf).max(axis=1)
        return np.where(self.edge_km(lat, lon) > 0, np.maximum(far, 0.0), 0.0)

    def edge_bearing_deg(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        if len(self.lat) < 3:
            return np.full(len(lat), np.nan)
        x, y = self._local(lat, lon)
        ex, ey = np.roll(x, -1, axis=1) - x, np.roll(y, -1, axis=1) - y
        s = np.clip(-(x * ex + y * ey) / np.maximum(ex * ex + ey * ey, 1e-12), 0.0, 1.0)
        px, py = x + s * ex, y + s * ey
        k = np.argmin(np.hypot(px, py), axis=1)
        rows = np.arange(len(k))
        return np.degrees(np.arctan2(px[rows, k], py[rows, k])) % 360.0


@dataclass(frozen=True)
class DataWindow:
    """The data's time span (microseconds since 1970 UTC) and spatial extent.

    The extent is one convex hull per cluster of the data: reports are put in cells of
    :data:`REGION_CELL_DEG` (about 55 km), touching occupied cells form a region, and each
    region's extent is the convex hull of its reports (so an extract around two ports 600 km
    apart is two regions, not the land between them). A position outside every region is
    outside the data.
    """

    start_us: int
    end_us: int
    hulls: tuple[_Hull, ...] = ()
    #: sorted region-cell keys and the hull index of each
    cell_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cell_hull: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def _hull_of(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Index of each position's region, -1 outside every region."""
        key = _cell_key(lat, lon, REGION_CELL_DEG)
        i = np.clip(np.searchsorted(self.cell_keys, key), 0, max(len(self.cell_keys) - 1, 0))
        if len(self.cell_keys) == 0:
            return np.full(len(key), -1)
        return np.where((self.cell_keys[i] == key) & np.isfinite(lat) & np.isfinite(lon),
                        self.cell_hull[i], -1)

    def _per_hull(self, lat: Any, lon: Any, fn: str, *extra: Any, outside: float
                  ) -> np.ndarray:
        lat = np.atleast_1d(np.asarray(lat, float))
        lon = np.atleast_1d(np.asarray(lon, float))
        extra = tuple(np.atleast_1d(np.asarray(e, float)) for e in extra)
        out = np.full(len(lat), outside)
        which = self._hull_of(lat, lon)
        for h in np.unique(which[which >= 0]):  # a loop over regions, not positions
            rows = np.flatnonzero(which == h)
            out[rows] = getattr(self.hulls[h], fn)(lat[rows], lon[rows],
                                                   *(e[rows] for e in extra))
        return out

    def edge_km(self, lat: Any, lon: Any) -> np.ndarray:
        """Distance of each position to the edge of its region: > 0 inside, <= 0 outside
        (a position in no region: -inf; NaN positions: NaN)."""
        out = self._per_hull(lat, lon, "edge_km", outside=-np.inf)
        return np.where(np.isfinite(np.asarray(lat, float)), out, np.nan)

    def exit_km(self, lat: Any, lon: Any, course_deg: Any) -> np.ndarray:
        """Distance a vessel sails on ``course_deg`` before it leaves its region (0 when it
        is outside already, NaN without a course)."""
        out = self._per_hull(lat, lon, "exit_km", course_deg, outside=0.0)
        return np.where(np.isfinite(np.asarray(course_deg, float)), out, np.nan)

    def nearest_edge_bearing_deg(self, lat: Any, lon: Any) -> np.ndarray:
        """Bearing from each position to the nearest point of its region's edge."""
        return self._per_hull(lat, lon, "edge_bearing_deg", outside=np.nan)


def window_around(lat: float, lon: float, radius_km: float, start_us: int, end_us: int
                  ) -> DataWindow:
    """A :class:`DataWindow` whose extent is the circle of ``radius_km`` around (lat, lon):
    the extract a user downloaded, when it is known rather than read from the data."""
    b = np.radians(np.arange(0, 360, 5.0))
    vlat = lat + radius_km * np.cos(b) / _KM_PER_DEG
    vlon = lon + radius_km * np.sin(b) / (_KM_PER_DEG * max(np.cos(np.radians(lat)), 0.01))
    # counter-clockwise in (lon east, lat north): walk the bearings backwards
    hull = _Hull(vlat[::-1].copy(), vlon[::-1].copy())
    ys = np.arange(np.floor(vlat.min() / REGION_CELL_DEG), np.floor(vlat.max() / REGION_CELL_DEG)
                   + 1)
    xs = np.arange(np.floor(vlon.min() / REGION_CELL_DEG), np.floor(vlon.max() / REGION_CELL_DEG)
                   + 1)
    keys = np.sort((ys[:, None] * 10_000_000 + xs[None, :]).ravel().astype(np.int64))
    return DataWindow(int(start_us), int(end_us), (hull,), keys, np.zeros(len(keys), np.int64))


def _cell_key(lat: np.ndarray, lon: np.ndarray, deg: float) -> np.ndarray:
    lat = np.nan_to_num(np.asarray(lat, float))
    lon = np.nan_to_num(np.asarray(lon, float))
    return (np.floor(lat / deg).astype(np.int64) * 10_000_000
            + np.floor(lon / deg).astype(np.int64))


def _split_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cy = np.floor_divide(keys + 5_000_000, 10_000_000)
    return cy, keys - cy * 10_000_000


def _regions(keys: np.ndarray) -> np.ndarray:
    """Connected-component label (8-neighbours) of each sorted region-cell key (a loop over
    occupied cells, a few thousand at most, not over pings)."""
    index = {int(k): i for i, k in enumerate(keys)}
    cy, cx = _split_key(keys)
    label = np.full(len(keys), -1, dtype=np.int64)
    n = 0
    for i in range(len(keys)):
        if label[i] >= 0:
            continue
        label[i] = n
        stack = [i]
        while stack:
            j = stack.pop()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    k = index.get(int((cy[j] + dy) * 10_000_000 + cx[j] + dx))
                    if k is not None and label[k] < 0:
                        label[k] = n
                        stack.append(k)
        n += 1
    return label


def _hull_ccw(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convex hull (Andrew's monotone chain), counter-clockwise, of a few thousand points."""
    pts = sorted(set(zip(x.tolist(), y.tolist(), strict=True)))
    if len(pts) < 3:
        return np.zeros(0), np.zeros(0)

    def half(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in points:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out

    ring = half(pts)[:-1] + half(pts[::-1])[:-1]
    if len(ring) < 3:
        return np.zeros(0), np.zeros(0)
    hx, hy = np.array(ring).T
    return hx, hy


def data_window(tracks: pd.DataFrame) -> DataWindow:
    """The :class:`DataWindow` of a frame of pings (``timestamp``, ``lat``, ``lon``)."""
    return window_of([window_facts(tracks)])


def window_facts(tracks: pd.DataFrame) -> tuple[int | None, int | None, np.ndarray]:
    """What :func:`data_window` reads of a frame: its first and last time (microseconds;
    None when empty) and the distinct hull cells its positions lie in. The facts of parts of
    a frame give, through :func:`window_of`, the window of the whole."""
    lat = tracks["lat"].to_numpy(float)
    lon = tracks["lon"].to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    t = epoch_us(tracks["timestamp"]) if len(tracks) else np.zeros(0, np.int64)
    if not ok.all():
        lat, lon = lat[ok], lon[ok]
    return (int(t.min()) if len(t) else None, int(t.max()) if len(t) else None,
            pd.unique(_cell_key(lat, lon, HULL_CELL_DEG)))


def window_of(facts: Sequence[tuple[int | None, int | None, np.ndarray]]) -> DataWindow:
    """The :class:`DataWindow` of frames from their :func:`window_facts`."""
    starts = [f[0] for f in facts if f[0] is not None]
    ends = [f[1] for f in facts if f[1] is not None]
    start = min(starts) if starts else 0
    end = max(ends) if ends else 0
    cells = facts[0][2] if len(facts) == 1 else np.unique(np.concatenate([f[2] for f in facts]))
    if len(cells) == 0:
        return DataWindow(start, end)
    cy, cx = _split_key(cells)
    centre_lat, centre_lon = (cy + 0.5) * HULL_CELL_DEG, (cx + 0.5) * HULL_CELL_DEG
    region_of_cell = _cell_key(centre_lat, centre_lon, REGION_CELL_DEG)
    region = np.unique(region_of_cell)
    region_label = _regions(region)
    fine_region = region_label[np.searchsorted(region, region_of_cell)]
    # only each row's westernmost and easternmost cell of a region can hold a hull vertex
    order = np.lexsort((cx, cy, fine_region))
    r, y, x = fine_region[order], cy[order], cx[order]
    row_start = np.r_[True, (r[1:] != r[:-1]) | (y[1:] != y[:-1])]
    row_end = np.r_[row_start[1:], True]
    ends = row_start | row_end
    r, y, x = r[ends], y[ends], x[ends]
    corners = np.array([[0, 0], [0, 1], [1, 1], [1, 0]])
    hulls = []
    bounds = np.searchsorted(r, np.arange(int(region_label.max()) + 2))
    for k in range(int(region_label.max()) + 1):  # a loop over regions, not positions
        a, b = bounds[k], bounds[k + 1]
        py = ((y[a:b, None] + corners[None, :, 0]) * HULL_CELL_DEG).ravel()
        px = ((x[a:b, None] + corners[None, :, 1]) * HULL_CELL_DEG).ravel()
        hx, hy = _hull_ccw(px, py)
        hulls.append(_Hull(hy, hx))
    return DataWindow(start, end, tuple(hulls), region, region_label)


def bearing_deg(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                lon2: np.ndarray) -> np.ndarray:
    """Initial great-circle bearing from point 1 to point 2 (NaN where either is missing or
    they coincide)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    out = np.degrees(np.arctan2(y, x)) % 360.0
    return np.where((np.abs(x) + np.abs(y)) > 1e-12, out, np.nan)


def heading_out(window: DataWindow, lat: np.ndarray, lon: np.ndarray, course_deg: np.ndarray,
                cone_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(whether a vessel on ``course_deg`` points out of the extent, within ``cone_deg`` of
    the bearing to its nearest edge; the distance it sails on that course to leave it)."""
    to_edge = window.nearest_edge_bearing_deg(lat, lon)
    off = np.abs((np.asarray(course_deg, float) - to_edge + 180.0) % 360.0 - 180.0)
    return off <= cone_deg, window.exit_km(lat, lon, course_deg)


def left_coverage(window: DataWindow, lat: np.ndarray, lon: np.ndarray, course_deg: np.ndarray,
                  speed_kn: np.ndarray, margin_km: np.ndarray, reach_km: np.ndarray,
                  *, moving_kn: float, cone_deg: float) -> np.ndarray:
    """Whether a vessel at these positions is at the edge of the data's extent (closer than
    ``margin_km``), or moving (>= ``moving_kn``) on a course pointing out of it that leaves it
    within ``reach_km``: then its silence is the data's edge, not the vessel."""
    edge = window.edge_km(lat, lon)
    toward, exit_km = heading_out(window, lat, lon, course_deg, cone_deg)
    with np.errstate(invalid="ignore"):
        sails_out = (np.nan_to_num(speed_kn, nan=0.0) >= moving_kn) & toward & (
            exit_km <= reach_km)
        return (edge < margin_km) | sails_out


def near_land(lat: np.ndarray, lon: np.ndarray, km: float) -> np.ndarray:
    """True where the 1 km land grid has land at the point or on a ring ``km`` around it
    (eight points) or at half that distance (a harbour basin, a river mouth, a coast)."""
    from ais.geography.land import is_land

    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    out = is_land(lat, lon)
    for r in (km / 2, km):
        for b in range(0, 360, 45):
            dlat = r * np.cos(np.radians(b)) / _KM_PER_DEG
            dlon = r * np.sin(np.radians(b)) / (_KM_PER_DEG
                                                * np.maximum(np.cos(np.radians(lat)), 0.01))
            out |= is_land(np.clip(lat + dlat, -90, 90), (lon + dlon + 180) % 360 - 180)
    return out


#: A run (slow run, meeting) is not cut by a silence shorter than this many of the track's
#: own median intervals ...
CADENCE_GAPS = 6.0
#: ... nor ever bridged across more than this many hours (a longer silence is a gap).
MAX_CADENCE_GAP_H = 3.0


def allowed_gap_h(cadence_h: np.ndarray, floor_h: float) -> np.ndarray:
    """The longest silence a run may bridge for tracks of these median intervals:
    ``max(floor_h, CADENCE_GAPS x cadence)``, at most ``max(floor_h, MAX_CADENCE_GAP_H)``."""
    cad = np.nan_to_num(np.asarray(cadence_h, float), nan=0.0)
    return np.clip(CADENCE_GAPS * cad, floor_h, max(floor_h, MAX_CADENCE_GAP_H))
