"""Reachable ports of a dark period: where a silent vessel could have called.

A port of the table (with the DPRK terminals and piers, and the configured ports) is
reachable during a closed silence of ``T`` hours from ``P0`` (last ping) to ``P1`` (first ping
after) at speed ``v`` (the vessel's observed top speed, :func:`ais.detectors.dark_meetup.
top_speed_kn`) when ``detour * (d(P0, port) + d(port, P1)) / v + stay <= T``: it could sail
there, stay ``[dark_meetup] port_stay_h`` (1 h) and sail to where it reappeared. For a silence
still open at the end of the data only the way there counts. ``margin`` is the hours to spare.

Distances are great circles times ``detour`` (1.25: coastal sea routes between nearby ports
run 10-30 % longer than the great circle); a great circle that crosses land is refused: each
leg is sampled every ~5 km and may touch land only within 15 km of its ends (harbour channels,
river ports such as Nampo on the Taedong, which the 1 km land grid calls land). This is a
check, not a sea-lane graph: a port behind a peninsula is refused rather than routed around,
so the list errs on the short side for long silences.

Vectorised: the candidates of each gap come from one ball-tree radius query around the midpoint
of its two ends (the reachable set is an ellipse with those foci, inside the circle of half its
major axis); the exact test is numpy over the pairs. The land check costs most, so it runs only
for the ports listed (at most ``MAX_LISTED`` per gap, DPRK and configured ports first, then by
margin), in a few rounds: ``n_reachable_ports`` counts the ports the time allows, before the
land check. A silence of years in a sample spanning 2014-2021 reaches every port of the table;
it costs a few dozen land checks, not the hundreds of millions of samples (and 18 GB) that
checking every pair took.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import EARTH_RADIUS_KM
from ais.detectors.dark_meetup import KN_KMH, top_speed_kn
from ais.detectors.port_call import _ports
from ais.geography.geo import SphereTree, haversine_km

MAX_LISTED = 6
MAX_ROUNDS = 5
LAND_STEP_KM = 5.0
END_SKIP_KM = 15.0


def _over_land(lat0: np.ndarray, lon0: np.ndarray, lat1: np.ndarray, lon1: np.ndarray,
               dist: np.ndarray) -> np.ndarray:
    """True where the straight leg (lat/lon interpolation, short legs) touches land away from
    both ends."""
    from ais.geography.land import is_land

    n = np.maximum(np.ceil(dist / LAND_STEP_KM).astype(int), 1)
    idx = np.repeat(np.arange(len(n)), n)
    frac = (np.arange(len(idx)) - np.repeat(np.cumsum(n) - n, n) + 0.5) / np.repeat(n, n)
    along = frac * dist[idx]
    inner = (along > END_SKIP_KM) & (dist[idx] - along > END_SKIP_KM)
    la = lat0[idx] + (lat1[idx] - lat0[idx]) * frac
    lo = lon0[idx] + (lon1[idx] - lon0[idx]) * frac
    land = np.zeros(len(idx), dtype=bool)
    if inner.any():
        land[inner] = is_land(la[inner], lo[inner])
    return np.bincount(idx, weights=land, minlength=len(n)) > 0


def _clear_of_land(pairs: pd.DataFrame, lat0: np.ndarray, lon0: np.ndarray,
                   lat1: np.ndarray, lon1: np.ndarray, is_open: np.ndarray,
                   ports: pd.DataFrame) -> np.ndarray:
    """Which of ``pairs`` (sorted by gap, then in listing order) are listed: per gap, the
    first :data:`MAX_LISTED` whose legs stay clear of land. Legs are checked in rounds of the
    next :data:`MAX_LISTED` unchecked pairs of each gap still short of its list, at most
    :data:`MAX_ROUNDS` rounds, so a silence of years (every port of the table in reach) costs
    a few dozen land checks, not millions of samples."""
    g = pairs["g"].to_numpy()
    rank = pairs.groupby("g").cumcount().to_numpy()
    plat = ports["lat"].to_numpy(float)[pairs["p"].to_numpy()]
    plon = ports["lon"].to_numpy(float)[pairs["p"].to_numpy()]
    d0, d1 = pairs["d0"].to_numpy(float), pairs["d1"].to_numpy(float)
    listed = np.zeros(len(pairs), dtype=bool)
    for round_ in range(MAX_ROUNDS):
        found = np.bincount(g, weights=listed, minlength=len(is_open))
        todo = np.flatnonzero((rank >= round_ * MAX_LISTED) & (rank < (round_ + 1) * MAX_LISTED)
                              & (found[g] < MAX_LISTED))
        if not len(todo):
            break
        gt = g[todo]
        land = _over_land(lat0[gt], lon0[gt], plat[todo], plon[todo], d0[todo])
        closed = ~is_open[gt]
        if closed.any():
            land[closed] |= _over_land(lat1[gt][closed], lon1[gt][closed], plat[todo][closed],
                                       plon[todo][closed], d1[todo][closed])
        listed[todo[~land]] = True
    # a round may list more than a gap still needed: keep the first MAX_LISTED in order
    listed &= (pd.Series(listed).groupby(g).cumsum().to_numpy() <= MAX_LISTED)
    return listed


def reachable_ports(dark: pd.DataFrame, tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """``dark`` with ``reachable_ports`` (text), ``n_reachable_ports`` and
    ``dprk_port_reachable`` (1.0 / 0.0: a DPRK port of the table or a configured port)
    added; a new frame."""
    out = dark.copy()
    out["reachable_ports"] = ""
    out["n_reachable_ports"] = 0.0
    out["dprk_port_reachable"] = 0.0
    if out.empty:
        return out
    c = cfg.dark_meetup
    ports = _ports(tuple(cfg.places), cfg.ports.table)
    tree = SphereTree(ports["lat"].to_numpy(float), ports["lon"].to_numpy(float))
    is_open = out["is_open"].astype(bool).to_numpy()
    lat0, lon0 = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
    lat1 = np.where(is_open, np.nan, out.get("end_lat", pd.Series(np.nan, index=out.index))
                    .to_numpy(float))
    lon1 = np.where(is_open, np.nan, out.get("end_lon", pd.Series(np.nan, index=out.index))
                    .to_numpy(float))
    v_kmh = top_speed_kn(tracks, out["mmsi"].to_numpy(), cfg).reindex(
        out["mmsi"].to_numpy()).to_numpy(float) * KN_KMH
    budget_km = np.clip(out["duration_h"].to_numpy(float) - c.port_stay_h, 0, None) * v_kmh \
        / c.detour
    # open: one way only, the whole budget; closed: there and back, the ellipse
    ok = np.isfinite(lat0) & np.isfinite(lon0) & (budget_km > 0) & (
        is_open | (np.isfinite(lat1) & np.isfinite(lon1)))
    if not ok.any():
        return out
    clat = np.where(is_open, lat0, (lat0 + np.nan_to_num(lat1)) / 2)
    clon = np.where(is_open, lon0, (lon0 + np.nan_to_num(lon1)) / 2)
    radius = np.where(is_open, budget_km, budget_km / 2)
    rows = np.flatnonzero(ok)
    hits = tree.within(clat[rows], clon[rows], radius[rows] + 1e-9 * EARTH_RADIUS_KM)
    gi = np.repeat(rows, [len(h) for h in hits])
    pi = np.concatenate(hits) if len(hits) else np.empty(0, dtype=np.int64)
    if not len(pi):
        return out
    plat, plon = ports["lat"].to_numpy(float)[pi], ports["lon"].to_numpy(float)[pi]
    d0 = haversine_km(lat0[gi], lon0[gi], plat, plon)
    d1 = np.where(is_open[gi], 0.0, haversine_km(np.nan_to_num(lat1[gi]),
                                                 np.nan_to_num(lon1[gi]), plat, plon))
    need_h = (d0 + d1) * c.detour / v_kmh[gi] + c.port_stay_h
    margin = out["duration_h"].to_numpy(float)[gi] - need_h
    keep = margin >= 0
    gi, pi, margin, d0, d1 = gi[keep], pi[keep], margin[keep], d0[keep], d1[keep]
    if not len(gi):
        return out
    pairs = pd.DataFrame({"g": gi, "p": pi, "watched": ports["watched"].to_numpy(bool)[pi],
                          "margin": margin, "d0": d0, "d1": d1})
    pairs = pairs.sort_values(["g", "watched", "margin"], ascending=[True, False, False],
                              kind="stable").reset_index(drop=True)
    counts = pairs.groupby("g").size()
    pairs = pairs[_clear_of_land(pairs, lat0, lon0, lat1, lon1, is_open, ports)]
    if pairs.empty:
        out.loc[out.index[counts.index.to_numpy()], "n_reachable_ports"] = counts.to_numpy(float)
        return out
    pairs = pairs.assign(name=ports["name"].to_numpy(object)[pairs["p"].to_numpy()])
    pairs["text"] = pairs["name"] + " (margin " + pairs["margin"].round(1).astype(str) + " h)"
    listed = pairs.groupby("g")["text"].agg("; ".join)
    index = out.index[listed.index.to_numpy()]
    out.loc[index, "reachable_ports"] = listed.to_numpy()
    out.loc[out.index[counts.index.to_numpy()], "n_reachable_ports"] = counts.to_numpy(float)
    dprk = pairs.groupby("g")["watched"].any()
    out.loc[out.index[dprk.index.to_numpy()], "dprk_port_reachable"] = dprk.to_numpy(float)
    return out
