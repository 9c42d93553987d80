"""Who was heard near a place over a window of time: other vessels reporting, counted for
thousands of windows at once without comparing every window with every report.

A dark period's verdict rests on reception: how many other vessels kept reporting within a
radius of where it fell silent (or reappeared) while it was silent, and before. The reports
are already grouped (a vessel's pings in one small cell and slice of time are one weighted
report at their mean place and time) and binned into *coarse cells* at least the radius wide;
a window asks for the reports of the 3x3 coarse cells around each of its places
(:mod:`ais.detectors.dark_period` computes those cells and bins, in DuckDB). Comparing each
window with every report in its cells means a great-circle distance per pair: on a dense day
(10 M pings, a thousand closed gaps with about 1,900 vessels around each) that is some
160 million pairs and most of the detector's time.

This module answers the same question exactly with an index built once per query:

* each coarse cell is cut into :data:`SUB` x :data:`SUB` *sub-cells*; the reports are sorted
  by sub-cell and then by slice of time, so the reports of one sub-cell over a run of slices
  are one contiguous range;
* for each window, each occupied sub-cell of its coarse cells is *inside* the radius of one of
  its places (its four corners are, with a millimetre to spare: over a cell of latitude and
  longitude the distance is largest at a corner), *outside* (its centre lies farther than the
  radius plus the cell's own half-diagonal), or on the *boundary*;
* the slices of time lying wholly inside the window take their reports without a test; only
  the slices at its ends are tested against the window (and the coarse time bins the SQL keyed
  on), and only boundary sub-cells are tested against the radius;
* a distance within a millionth of a kilometre of the radius (numpy's trigonometry may differ
  from DuckDB's in the last bits) is measured again by DuckDB's ``hav_km``, so the verdict on
  every pair is the SQL's.

The counts then come from the reports taken: a bitmap of vessels per window, and the pings
they stand for by prefix sums (less the window's own vessel's, found by the same test). Work
is the reports taken (the answer's own size) plus a distance for the boundary ring; memory is
bounded by batching windows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ais.db import EARTH_RADIUS_KM

#: Sub-cells per side of a coarse cell: finer makes the boundary ring (the pairs tested)
#: thinner but the (window, sub-cell) entries more numerous.
SUB = 14
#: Distances within this many km (plus a relative 1e-9) of the radius are measured by DuckDB.
EXACT_BAND_KM = 1e-6
#: A sub-cell is inside (outside) a radius only with this many km to spare.
SPARE_KM = 1e-3
#: Largest (window, sub-cell) entries and taken reports per batch of windows (memory bound).
ENTRY_BUDGET = 1_000_000
ELEMENT_BUDGET = 4_000_000
#: Largest bitmap of (windows x vessels) per batch, in bytes.
BITMAP_BUDGET = 1 << 24
#: Largest table of where each (sub-cell, slice) starts (else a binary search each time).
POSITION_TABLE_BUDGET = 4_000_000

_HALF_RAD = np.pi / 360.0  # degrees to half-angle radians
ExactKm = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Windows:
    """The windows to count in, one row each: ``lo_us < t < hi_us`` (integer microseconds);
    the place ``(lat, lon)`` and, where ``two_places``, ``(end_lat, end_lon)`` too."""

    gid: np.ndarray
    mmsi: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    end_lat: np.ndarray
    end_lon: np.ndarray
    two_places: np.ndarray
    lo_us: np.ndarray
    hi_us: np.ndarray

    def places(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """Each place as (lat, lon), NaN where a window has no such place."""
        second = self.two_places
        return ((self.lat, self.lon), (np.where(second, self.end_lat, np.nan),
                                       np.where(second, self.end_lon, np.nan)))


@dataclass(frozen=True)
class Reports:
    """Grouped reports: ``n`` pings of ``mmsi`` at mean ``(lat, lon)`` and mean time ``t_us``
    (a float), all in slice ``slice`` (``t // slice_us`` of each ping), in coarse cell
    ``(cy, cx)`` and coarse time bin ``hb``."""

    mmsi: np.ndarray
    n: np.ndarray
    t_us: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    cy: np.ndarray
    cx: np.ndarray
    hb: np.ndarray
    slice: np.ndarray


def cell_scale(cy: np.ndarray, cd: float) -> np.ndarray:
    """Longitude scale of coarse row ``cy`` (cells ``cd`` degrees high): the cosine of its
    poleward edge, as the SQL bins them (a row's cells are ``cd / scale`` degrees wide)."""
    edge = np.minimum(90.0, np.maximum(np.abs(cy * cd), np.abs((cy + 1) * cd)))
    return np.maximum(np.cos(np.radians(edge)), 1e-6)


def _sin2(half_deg_diff: np.ndarray) -> np.ndarray:
    """sin² of half an angle given in degrees (the haversine terms)."""
    s = np.sin(half_deg_diff * _HALF_RAD)
    s *= s
    return s


def _hav_of_km(km: np.ndarray | float) -> np.ndarray:
    """The haversine term ``sin²(d / 2R)`` of distances (grows with them up to half the
    globe; 2 beyond, which no pair reaches)."""
    km = np.asarray(km, float)
    half = np.minimum(km / (2 * EARTH_RADIUS_KM), np.pi / 2)
    return np.where(km >= np.pi * EARTH_RADIUS_KM, 2.0, np.sin(half) ** 2)


def _km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    a = _sin2(lat2 - lat1) + (np.cos(np.radians(lat1)) * np.cos(np.radians(lat2))
                              * _sin2(lon2 - lon1))
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _ranges(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All integers of the ranges ``[starts[i], ends[i])`` and the range each came from."""
    lengths = np.maximum(ends - starts, 0)
    owner = np.repeat(np.arange(len(starts)), lengths)
    first = np.cumsum(lengths) - lengths
    idx = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(first - starts, lengths)
    return idx, owner


def count_reporting(windows: Windows, cells: pd.DataFrame, reports: Reports, *,
                    radius_km: float, cd: float, slice_us: int, bin_us: int,
                    exact_km: ExactKm) -> pd.DataFrame:
    """For each window: the distinct other vessels (``mmsi`` not the window's) with a report
    strictly inside it in time, in one of its coarse cells (``cells``: ``gid, cy, cx``) and
    time bins (``lo_us // bin_us .. (hi_us - 1) // bin_us``), and within ``radius_km`` of one
    of its places; and the pings those reports stand for.

    ``exact_km(lat1, lon1, lat2, lon2)`` is the reference distance (DuckDB's ``hav_km``, the
    report first), asked only for the pairs numpy cannot decide to the last bit.

    Returns:
        ``gid, neighbours_reporting, n_neighbour_pings`` for the windows with at least one
        such vessel, by ``gid``.
    """
    ok = np.isfinite(reports.lat) & np.isfinite(reports.lon) & np.isfinite(reports.t_us)
    if not ok.all():
        reports = Reports(**{f.name: getattr(reports, f.name)[ok] for f in fields(Reports)})
    counts = np.zeros(len(windows.gid), np.int64)
    pings = np.zeros(len(windows.gid), np.int64)
    if len(reports.mmsi) and len(windows.gid) and len(cells):
        count = _Count(windows, cells, _Index(reports, cd, slice_us), radius_km, bin_us,
                       exact_km)
        counts, pings = count.run()
    has = counts > 0
    out = pd.DataFrame({"gid": windows.gid[has], "neighbours_reporting": counts[has],
                        "n_neighbour_pings": pings[has]})
    return out.sort_values("gid", kind="stable").reset_index(drop=True)


class _Index:
    """The reports sorted by sub-cell, then slice: one contiguous range per (sub-cell, run
    of slices); with prefix sums of their pings and each vessel's reports."""

    def __init__(self, r: Reports, cd: float, slice_us: int) -> None:
        self.cd, self.slice_us = cd, slice_us
        self.cy0, self.cx0 = int(r.cy.min()) - 2, int(r.cx.min()) - 2
        self.ncx = int(r.cx.max()) - self.cx0 + 3
        scale = cell_scale(r.cy.astype(float), cd)
        sy = np.clip(np.floor((r.lat / cd - r.cy) * SUB), 0, SUB - 1).astype(np.int64)
        sx = np.clip(np.floor((r.lon * scale / cd - r.cx) * SUB), 0, SUB - 1).astype(np.int64)
        coarse = self.coarse(r.cy, r.cx)
        sub = coarse * (SUB * SUB) + sy * SUB + sx
        del sy, sx, scale
        self.s0 = int(r.slice.min())
        self.n_slices = int(r.slice.max()) - self.s0 + 1
        order = np.lexsort((r.slice, sub))
        sub = sub[order]
        self.subs, first = np.unique(sub, return_index=True)  # occupied sub-cells, sorted
        rank = np.repeat(np.arange(len(self.subs), dtype=np.int64),
                         np.diff(np.r_[first, len(sub)]))
        del sub
        self.key = rank * self.n_slices + (r.slice[order] - self.s0)
        del rank
        # where each (sub-cell, slice) starts, as a table when it is small
        self._table: np.ndarray | None = None
        if len(self.subs) * (self.n_slices + 1) <= POSITION_TABLE_BUDGET:
            self._table = np.searchsorted(
                self.key, (np.arange(len(self.subs))[:, None] * self.n_slices
                           + np.arange(self.n_slices + 1)[None, :]).ravel())
        self.coarse_key = coarse[order]
        self.lat, self.lon = r.lat[order], r.lon[order]
        self.cos_lat = np.cos(np.radians(self.lat))
        self.t_us, self.hb = r.t_us[order], r.hb[order]
        self.n = r.n[order]
        self.cum_n = np.r_[0, np.cumsum(self.n)]
        self.vessels, code = np.unique(r.mmsi, return_inverse=True)
        self.code = code.reshape(-1)[order].astype(np.int32)
        self.n_codes = len(self.vessels)
        by_vessel = np.argsort(self.code, kind="stable")
        self.by_vessel = by_vessel
        self.vessel_bounds = np.searchsorted(self.code[by_vessel], np.arange(self.n_codes + 1))

    def coarse(self, cy: np.ndarray, cx: np.ndarray) -> np.ndarray:
        """One integer per coarse cell (cells outside the reports' range may collide; see
        :meth:`knows`)."""
        return (cy - self.cy0) * self.ncx + (cx - self.cx0)

    def knows(self, cy: np.ndarray, cx: np.ndarray) -> np.ndarray:
        """Coarse cells whose key is their own (those outside hold no report anyway)."""
        return (cx >= self.cx0) & (cx < self.cx0 + self.ncx) & (cy >= self.cy0)

    def blocks(self, coarse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in :attr:`subs` of the occupied sub-cells of coarse cells ``coarse``."""
        base = coarse * (SUB * SUB)
        return (np.searchsorted(self.subs, base), np.searchsorted(self.subs, base + SUB * SUB))

    def code_of(self, mmsi: np.ndarray) -> np.ndarray:
        """Each mmsi's vessel code, -1 when it has no report."""
        i = np.clip(np.searchsorted(self.vessels, mmsi), 0, len(self.vessels) - 1)
        return np.where(self.vessels[i] == mmsi, i, -1)

    def position(self, sub_pos: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Index of the first report of sub-cell ``sub_pos`` at or after slice ``s``."""
        rel = np.clip(s - self.s0, 0, self.n_slices)
        if self._table is not None:
            return self._table[sub_pos * (self.n_slices + 1) + rel]
        return np.searchsorted(self.key, sub_pos * self.n_slices + rel)


_INSIDE, _BOUNDARY, _OUTSIDE = 0, 1, 2


class _Count:
    """One count: the windows' coarse cells matched with the index, then batches of windows."""

    def __init__(self, windows: Windows, cells: pd.DataFrame, index: _Index, radius_km: float,
                 bin_us: int, exact_km: ExactKm) -> None:
        self.w, self.ix, self.radius_km, self.bin_us = windows, index, radius_km, bin_us
        self.exact_km = exact_km
        self.places = windows.places()
        self.cos_places = tuple(np.cos(np.radians(lat)) for lat, _ in self.places)
        self.own = index.code_of(windows.mmsi)
        # the windows' coarse cells (by window position), those that hold reports
        w_order = np.argsort(windows.gid, kind="stable")
        cell_gid = cells["gid"].to_numpy(np.int64)
        pos = np.clip(np.searchsorted(windows.gid[w_order], cell_gid), 0, len(w_order) - 1)
        found = windows.gid[w_order][pos] == cell_gid
        cw = w_order[pos[found]]
        cy = cells["cy"].to_numpy(np.int64)[found]
        cx = cells["cx"].to_numpy(np.int64)[found]
        keep = (windows.hi_us > windows.lo_us)[cw] & index.knows(cy, cx)
        cw, cy, cx = cw[keep], cy[keep], cx[keep]
        order = np.lexsort((cx, cy, cw))
        self.cell_w, self.cell_cy, self.cell_cx = cw[order], cy[order], cx[order]
        self.cell_key = index.coarse(self.cell_cy, self.cell_cx)
        self.first, self.last = index.blocks(self.cell_key)
        self.cell_bounds = np.searchsorted(self.cell_w, np.arange(len(windows.gid) + 1))

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        n_w = len(self.w.gid)
        counts = np.zeros(n_w, np.int64)
        pings = np.zeros(n_w, np.int64)
        entries = np.bincount(self.cell_w, weights=self.last - self.first, minlength=n_w)
        max_windows = max(1, BITMAP_BUDGET // max(self.ix.n_codes, 1))
        w = 0
        while w < n_w:  # windows w..v-1: entries within budget (at least one window)
            ends = np.cumsum(entries[w:w + max_windows])
            v = w + max(1, int(np.searchsorted(ends, ENTRY_BUDGET, side="right")))
            counts[w:v], pings[w:v] = self._batch(w, v)
            w = v
        pings -= self._own_pings()
        return counts, pings

    def _batch(self, w0: int, w1: int) -> tuple[np.ndarray, np.ndarray]:
        """Counts of windows ``w0..w1-1``."""
        ix, w = self.ix, self.w
        a, b = self.cell_bounds[w0], self.cell_bounds[w1]
        sub_pos, row = _ranges(self.first[a:b], self.last[a:b])
        row += a
        status = self._classify(row, sub_pos)
        keep = status != _OUTSIDE
        sub_pos, row, status = sub_pos[keep], row[keep], status[keep]
        ew = self.cell_w[row]
        lo, hi, q = w.lo_us[ew], w.hi_us[ew], ix.slice_us
        # the slices a mean time inside the window may lie in: those of its ends, and the
        # next one out where the window ends on a slice's edge (a float mean of pings may
        # round a fraction of a microsecond out of its slice); those wholly inside it,
        # [s_in0, s_in1), need no test
        pa = ix.position(sub_pos, (lo + 1) // q - ((lo + 1) % q == 0))
        pb = ix.position(sub_pos, (hi - 1) // q + 1 + (hi % q == 0))
        s_in0, s_in1 = (lo + q) // q, hi // q
        inside = (status == _INSIDE) & (s_in0 < s_in1)
        p0, p1 = pb.copy(), pb.copy()
        p0[inside] = ix.position(sub_pos[inside], s_in0[inside])
        p1[inside] = ix.position(sub_pos[inside], s_in1[inside])
        del lo, hi, s_in0, s_in1
        n_w = w1 - w0
        pings = np.bincount(ew - w0, weights=ix.cum_n[p1] - ix.cum_n[p0], minlength=n_w)
        seen = np.zeros((n_w, ix.n_codes), bool)
        flat = seen.reshape(-1)
        place = status == _BOUNDARY
        # entries in runs whose reports stay within the element budget
        sizes = np.cumsum(pb - pa)
        e = 0
        while e < len(ew):
            f = e + max(1, int(np.searchsorted(sizes[e:] - (sizes[e - 1] if e else 0),
                                               ELEMENT_BUDGET, side="right")))
            sl = slice(e, f)
            idx, owner = _ranges(p0[sl], p1[sl])
            flat[(ew[sl][owner] - w0) * ix.n_codes + ix.code[idx]] = True
            for lo_p, hi_p in ((pa[sl], p0[sl]), (p1[sl], pb[sl])):
                idx, owner = _ranges(lo_p, hi_p)
                idx, wi = self._taken(idx, ew[sl][owner], place[sl][owner])
                flat[(wi - w0) * ix.n_codes + ix.code[idx]] = True
                pings += np.bincount(wi - w0, weights=ix.n[idx], minlength=n_w)
            e = f
        counts = seen.sum(axis=1)
        own = self.own[w0:w1]
        has_own = own >= 0
        counts[has_own] -= seen[np.flatnonzero(has_own), own[has_own]]
        return counts, np.rint(pings).astype(np.int64)

    def _classify(self, row: np.ndarray, sub_pos: np.ndarray) -> np.ndarray:
        """Inside, boundary or outside, for sub-cells ``sub_pos`` of coarse cells ``row``.

        The haversine term of a point (lat, lon) to a place, ``hav(dlat) + cos(lat)
        cos(lat_p) hav(dlon)``, splits into a part per row of sub-cells and one per column:
        computed per coarse cell for its SUB + 1 edges, not per sub-cell. Inside: at all
        four corners within the radius (over a cell of latitude and longitude narrower than
        a quarter turn the distance is largest at a corner). Outside: even the smallest
        latitude and longitude differences to the sub-cell, with the smaller cosine of its
        edges, put it beyond the radius (a lower bound of the term over the sub-cell)."""
        ix, cd = self.ix, self.ix.cd
        rows, row_of = np.unique(row, return_inverse=True)
        cy = self.cell_cy[rows].astype(float)[:, None]
        cx = self.cell_cx[rows].astype(float)[:, None]
        steps = np.arange(SUB + 1) / SUB
        width = cd / cell_scale(cy, cd)
        lat_e = np.clip((cy + steps) * cd, -90.0, 90.0)  # (rows, SUB + 1)
        lon_e = (cx + steps) * width
        cos_e = np.cos(np.radians(lat_e))
        cos_min = np.minimum(cos_e[:, :-1], cos_e[:, 1:])  # (rows, SUB)
        sub = ix.subs[sub_pos] % (SUB * SUB)
        sy, sx = np.divmod(sub, SUB)
        r = row_of.reshape(-1)
        e0, f0 = r * (SUB + 1) + sy, r * (SUB + 1) + sx  # flat indices of lower edges
        m_y, m_x = r * SUB + sy, r * SUB + sx
        a_in = float(_hav_of_km(max(self.radius_km - SPARE_KM, 0.0)))
        a_out = float(_hav_of_km(self.radius_km + SPARE_KM))
        inside = np.zeros(len(row), bool)
        outside = np.ones(len(row), bool)
        cw = self.cell_w[rows]
        for (plat, plon), cos_p in zip(self.places, self.cos_places, strict=True):
            plat, plon, cos_p = plat[cw][:, None], plon[cw][:, None], cos_p[cw][:, None]
            use = (np.isfinite(plat) & np.isfinite(plon)).ravel()
            # both bounds need narrow cells within a quarter turn of the place
            near = (use & (width.ravel() / SUB <= 10.0)
                    & (np.abs(lon_e[:, 0] - plon.ravel()) <= 90.0)
                    & (np.abs(lon_e[:, -1] - plon.ravel()) <= 90.0))
            ay = _sin2(lat_e - plat).ravel()
            cy_ = (cos_e * cos_p).ravel()
            bx = _sin2(lon_e - plon).ravel()
            far = np.maximum(
                np.maximum(ay[e0] + cy_[e0] * bx[f0], ay[e0] + cy_[e0] * bx[f0 + 1]),
                np.maximum(ay[e0 + 1] + cy_[e0 + 1] * bx[f0],
                           ay[e0 + 1] + cy_[e0 + 1] * bx[f0 + 1]))
            dlat = np.maximum(np.maximum(lat_e[:, :-1] - plat, plat - lat_e[:, 1:]), 0.0)
            dlon = np.maximum(np.maximum(lon_e[:, :-1] - plon, plon - lon_e[:, 1:]), 0.0)
            least = (_sin2(dlat).ravel()[m_y]
                     + (cos_min * cos_p).ravel()[m_y] * _sin2(dlon).ravel()[m_x])
            near_e = near[r]
            inside |= near_e & (far <= a_in)
            outside &= ~use[r] | (near_e & (least > a_out))
        return np.where(inside, _INSIDE, np.where(outside, _OUTSIDE, _BOUNDARY))

    def _taken(self, idx: np.ndarray, wi: np.ndarray, place: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """The reports ``idx`` (of windows ``wi``) inside their window and time bins, and
        where ``place``, within the radius: the reports and their windows."""
        ix, w = self.ix, self.w
        t, hb = ix.t_us[idx], ix.hb[idx]
        lo, hi = w.lo_us[wi], w.hi_us[wi]
        ok = (t > lo) & (t < hi) & (hb >= lo // self.bin_us) & (hb <= (hi - 1) // self.bin_us)
        check = np.flatnonzero(ok & place)
        if len(check):
            ok[check] = self._near(idx[check], wi[check])
        return idx[ok], wi[ok]

    def _near(self, idx: np.ndarray, wi: np.ndarray) -> np.ndarray:
        """Reports ``idx`` within the radius of a place of windows ``wi``: decided by numpy
        away from the radius, by ``exact_km`` within :data:`EXACT_BAND_KM` of it."""
        ix, radius = self.ix, self.radius_km
        band = EXACT_BAND_KM + 1e-9 * radius
        a_lo = float(_hav_of_km(max(radius - band, 0.0)))
        a_hi = float(_hav_of_km(radius + band))
        lat, lon, cos_lat = ix.lat[idx], ix.lon[idx], ix.cos_lat[idx]
        near = np.zeros(len(idx), bool)
        unsure = np.zeros(len(idx), bool)
        todo = np.arange(len(idx))
        for (plat, plon), cos_p in zip(self.places, self.cos_places, strict=True):
            p_lat, p_lon = plat[wi[todo]], plon[wi[todo]]
            a = (_sin2(lat[todo] - p_lat)
                 + cos_lat[todo] * cos_p[wi[todo]] * _sin2(lon[todo] - p_lon))
            near[todo] = a <= a_lo  # NaN (no such place) is never near
            unsure[todo] |= (a > a_lo) & (a <= a_hi)
            todo = todo[~near[todo]]
        unsure &= ~near
        if unsure.any():
            u = np.flatnonzero(unsure)
            for plat, plon in self.places:
                p_lat, p_lon = plat[wi[u]], plon[wi[u]]
                use = np.isfinite(p_lat) & np.isfinite(p_lon)
                if use.any():
                    d = self.exact_km(lat[u][use], lon[u][use], p_lat[use], p_lon[use])
                    near[u[use]] |= d <= radius
        return near

    def _own_pings(self) -> np.ndarray:
        """Pings of each window's own vessel that the same test takes (to take back out)."""
        ix, w = self.ix, self.w
        own = self.own
        has = np.flatnonzero(own >= 0)
        out = np.zeros(len(w.gid), np.int64)
        if not len(has):
            return out
        pos, owner = _ranges(ix.vessel_bounds[own[has]], ix.vessel_bounds[own[has] + 1])
        idx, wi = ix.by_vessel[pos], has[owner]
        # in one of the window's coarse cells
        big = max(int(self.cell_key.max(initial=0)), int(ix.coarse_key.max())) + 1
        cell_keys = self.cell_w * big + self.cell_key
        want = wi * big + ix.coarse_key[idx]
        at = np.clip(np.searchsorted(cell_keys, want), 0, max(len(cell_keys) - 1, 0))
        ok = (cell_keys[at] == want) if len(cell_keys) else np.zeros(len(want), bool)
        idx, wi = self._taken(idx[ok], wi[ok], np.ones(int(ok.sum()), bool))
        out += np.bincount(wi, weights=ix.n[idx], minlength=len(w.gid)).astype(np.int64)
        return out

