"""Split pings into tracks (one per physical ship) and segments (split at observation gaps).

One MMSI is sometimes broadcast by two ships far apart (shared, reused or spoofed numbers).
Like GlobalFishingWatch's segmenter, we attach each ping to the most recent earlier ping of
the same MMSI that the ship could have reached (implied speed <= ``max_speed_kn``, or a step
shorter than ``jump_tolerance_km``); pings that reach no earlier ping start a new track.
Tracks are the connected chains of those links. Everything is vectorised: window functions
in DuckDB and pointer jumping in numpy.

Added columns (the frame stays sorted by mmsi, timestamp):

- ``track`` (int32): 0, 1, ... per MMSI, in order of each track's first ping.
- ``segment`` (int32): 0, 1, ... per track; a new segment starts after a gap > ``gap_h``.
- ``gap_before_h`` (float): hours since the track's previous ping (NaN for its first).
- ``step_km`` (float): distance from the track's previous ping (NaN for its first).

``track_id`` strings are ``f"{mmsi}_{track}"`` and segment ids ``f"{track_id}_{segment}"``,
the movingpandas convention for split trajectories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.config import TrackConfig
from ais.db import connect
from ais.geo import haversine_km

TRACK_COLUMNS = ("track", "segment", "gap_before_h", "step_km")


def _reachable(k: int, cfg: TrackConfig) -> str:
    dist = f"hav_km(lat, lon, lag(lat, {k}) OVER w, lag(lon, {k}) OVER w)"
    dt_h = f"epoch(timestamp - lag(timestamp, {k}) OVER w) / 3600.0"
    return (f"({dist} <= greatest({cfg.jump_tolerance_km}, "
            f"{cfg.max_speed_kn * 1.852} * {dt_h}))")


def _parents(pings: pd.DataFrame, cfg: TrackConfig) -> np.ndarray:
    """For each ping (in frame order) the row of the ping it continues, or itself."""
    con = connect()
    frame = pings[["mmsi", "timestamp", "lat", "lon"]].assign(row=np.arange(len(pings)))
    con.register("frame", frame)
    lags = ",\n".join(
        f"CASE WHEN {_reachable(k, cfg)} THEN {k} END AS k{k}"
        for k in range(1, cfg.lookback_pings + 1)
    )
    ks = ", ".join(f"k{k}" for k in range(1, cfg.lookback_pings + 1))
    con.execute(f"""
        CREATE TEMP TABLE linked AS
        SELECT row, mmsi, timestamp, lat, lon, row - coalesce({ks}) AS parent
        FROM (
            SELECT row, mmsi, timestamp, lat, lon, {lags}
            FROM frame
            WINDOW w AS (PARTITION BY mmsi ORDER BY timestamp, row)
        )
    """)
    # Pings that start a fragment look further back (by time) for a ping they can reach:
    # this joins a sparse second ship's pings to each other across the first ship's pings.
    fixes = con.execute(f"""
        WITH starts AS (SELECT * FROM linked WHERE parent IS NULL)
        SELECT s.row, max(p.row) AS parent
        FROM starts s JOIN linked p
          ON p.mmsi = s.mmsi AND p.timestamp < s.timestamp
         AND p.timestamp >= s.timestamp - INTERVAL {cfg.lookback_h * 3600.0} SECOND
        WHERE hav_km(s.lat, s.lon, p.lat, p.lon) <= greatest({cfg.jump_tolerance_km},
              {cfg.max_speed_kn * 1.852} * epoch(s.timestamp - p.timestamp) / 3600.0)
        GROUP BY s.row
    """).fetchnumpy()
    parent = con.execute("SELECT coalesce(parent, row) FROM linked ORDER BY row").fetchnumpy()
    con.close()
    parent = next(iter(parent.values())).astype(np.int64)
    if len(fixes["row"]):
        parent[fixes["row"].astype(np.int64)] = fixes["parent"].astype(np.int64)
    return parent


def epoch_ns(ts: pd.Series) -> np.ndarray:
    """Nanoseconds since 1970 UTC of a tz-aware (or UTC-naive) timestamp column."""
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _roots(parent: np.ndarray) -> np.ndarray:
    """Follow parent links to each chain's first ping (pointer jumping, O(n log n))."""
    root = parent.copy()
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def build_tracks(pings: pd.DataFrame, cfg: TrackConfig | None = None) -> pd.DataFrame:
    """Return a copy of ``pings`` sorted by (mmsi, timestamp) with track and segment columns.

    Args:
        pings: cleaned pings (see :func:`ais.ingest.ingest`); not modified.
        cfg: segmentation thresholds; defaults to ``TrackConfig()``.
    """
    cfg = cfg or TrackConfig()
    out = pings.sort_values(["mmsi", "timestamp"], kind="stable").reset_index(drop=True)
    out = out.drop(columns=[c for c in TRACK_COLUMNS if c in out.columns])
    n = len(out)
    if n == 0:
        for col, dtype in zip(TRACK_COLUMNS, ("int32", "int32", "float64", "float64"),
                              strict=True):
            out[col] = pd.Series(dtype=dtype)
        return out

    root = _roots(_parents(out, cfg))
    # number tracks per MMSI in order of their first ping (roots are first pings)
    mmsi = out["mmsi"].to_numpy()
    is_root = root == np.arange(n)
    root_rows = np.flatnonzero(is_root)
    root_mmsi = mmsi[root_rows]
    first_of_mmsi = np.r_[True, root_mmsi[1:] != root_mmsi[:-1]]
    group_start = np.maximum.accumulate(np.where(first_of_mmsi, np.arange(len(root_rows)), 0))
    track_of_root = np.empty(n, dtype=np.int32)
    track_of_root[root_rows] = np.arange(len(root_rows)) - group_start
    out["track"] = track_of_root[root]

    # previous ping of the same track: sort by (mmsi, track, time), diff, scatter back
    t_all = epoch_ns(out["timestamp"])
    track = out["track"].to_numpy()
    order = np.lexsort((t_all, track, mmsi))
    t = t_all[order]
    lat = out["lat"].to_numpy(float)[order]
    lon = out["lon"].to_numpy(float)[order]
    key = mmsi[order].astype(np.int64) * 100_000 + track[order]
    same = np.r_[False, key[1:] == key[:-1]]
    gap_h = np.where(same, np.r_[np.nan, np.diff(t) / 3.6e12], np.nan)
    step = np.where(same, haversine_km(np.r_[lat[0], lat[:-1]], np.r_[lon[0], lon[:-1]],
                                       lat, lon), np.nan)
    new_segment = (~same) | (gap_h > cfg.gap_h)
    # segment number = count of segment starts since the track's first ping
    starts_cum = np.cumsum(new_segment)
    track_first = np.maximum.accumulate(np.where(~same, np.arange(n), 0))
    columns = {"segment": (starts_cum - starts_cum[track_first]).astype(np.int32),
               "gap_before_h": gap_h, "step_km": step}
    for name, values in columns.items():
        scattered = np.empty(n, dtype=values.dtype)
        scattered[order] = values
        out[name] = scattered
    return out


def track_summary(tracks: pd.DataFrame) -> pd.DataFrame:
    """One row per (mmsi, track): pings, first/last time and position, segments."""
    g = tracks.groupby(["mmsi", "track"], sort=True)
    summary = g.agg(
        pings=("timestamp", "size"),
        start_time=("timestamp", "min"),
        end_time=("timestamp", "max"),
        segments=("segment", "max"),
        lat=("lat", "median"),
        lon=("lon", "median"),
    ).reset_index()
    summary["segments"] += 1
    summary["tracks_of_mmsi"] = summary.groupby("mmsi")["track"].transform("size")
    return summary
