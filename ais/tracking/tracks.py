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
import pyarrow as pa

from ais.config import TrackConfig
from ais.db import connect
from ais.geography.geo import consecutive_km, haversine_km

TRACK_COLUMNS = ("track", "segment", "gap_before_h", "step_km")


def _reachable(lat: np.ndarray, lon: np.ndarray, t_ns: np.ndarray, rows: np.ndarray,
               prev: np.ndarray, cfg: TrackConfig) -> np.ndarray:
    """Could the ship at ``prev`` have sailed to ``rows`` (speed cap, or a tiny jump)?"""
    dist = haversine_km(lat[prev], lon[prev], lat[rows], lon[rows])
    dt_h = (t_ns[rows] - t_ns[prev]) / 3.6e12
    return dist <= np.maximum(cfg.jump_tolerance_km, cfg.max_speed_kn * 1.852 * dt_h)


def _parents(pings: pd.DataFrame, cfg: TrackConfig) -> tuple[np.ndarray, np.ndarray]:
    """For each ping (of a frame sorted by mmsi, timestamp) the row it continues, or itself;
    and the distance in km from each row to the next (length n - 1).

    A ping continues the nearest of the ``lookback_pings`` previous pings of its MMSI that it
    can reach; only the pings still unlinked are tested at the next distance back, so the
    work is about one distance per ping.
    """
    n = len(pings)
    mmsi = pings["mmsi"].to_numpy(np.int64)
    t_ns = epoch_ns(pings["timestamp"])
    lat = pings["lat"].to_numpy(float)
    lon = pings["lon"].to_numpy(float)
    parent = np.arange(n)
    # the previous ping (k = 1) for every ping at once, on whole arrays filled in place
    step = consecutive_km(lat, lon)
    reach = np.empty(max(n - 1, 0))
    np.subtract(t_ns[1:], t_ns[:-1], out=reach)
    reach *= cfg.max_speed_kn * 1.852 / 3.6e12
    np.maximum(reach, cfg.jump_tolerance_km, out=reach)
    same_mmsi = mmsi[1:] == mmsi[:-1]
    ok = same_mmsi & (step <= reach)
    del reach
    parent[1:] -= ok  # row i continues row i - 1
    todo = np.flatnonzero(same_mmsi & ~ok) + 1  # unlinked, with an earlier ping of the MMSI
    # the few pings left look at k = 2, 3, ... previous pings
    for k in range(2, cfg.lookback_pings + 1):
        if len(todo) == 0:
            break
        rows = todo[todo >= k]
        prev = rows - k
        rows, prev = rows[mmsi[prev] == mmsi[rows]], prev[mmsi[prev] == mmsi[rows]]
        ok = _reachable(lat, lon, t_ns, rows, prev, cfg)
        parent[rows[ok]] = prev[ok]
        todo = rows[~ok]
    if len(todo) == 0:
        return parent, step
    # Pings that start a fragment look further back (by time) for a ping they can reach:
    # this joins a sparse second ship's pings to each other across the first ship's pings.
    con = connect()
    con.register("frame", pa.table({"row": np.arange(n), "mmsi": mmsi, "t": t_ns,
                                    "lat": lat, "lon": lon}))  # Arrow: no copy
    con.register("starts", pa.table({"row": todo}))
    fixes = con.execute(f"""
        WITH s AS (SELECT f.* FROM frame f SEMI JOIN starts USING (row))
        SELECT s.row, max(p.row) AS parent
        FROM s JOIN frame p
          ON p.mmsi = s.mmsi AND p.t < s.t AND p.t >= s.t - {int(cfg.lookback_h * 3.6e12)}
        WHERE hav_km(s.lat, s.lon, p.lat, p.lon) <= greatest({cfg.jump_tolerance_km},
              {cfg.max_speed_kn * 1.852} * ((s.t - p.t) / 3.6e12))
        GROUP BY s.row
    """).fetchnumpy()
    con.close()
    if len(fixes["row"]):
        parent[fixes["row"].astype(np.int64)] = fixes["parent"].astype(np.int64)
    return parent, step


def epoch_ns(ts: pd.Series) -> np.ndarray:
    """Nanoseconds since 1970 UTC of a tz-aware (or UTC-naive) timestamp column."""
    values = ts.array
    if isinstance(values, pd.arrays.DatetimeArray) and not values.isna().any():
        # the stored integers are already UTC; only the unit may differ (one multiplication
        # instead of a time-zone conversion and three copies of the column)
        return values.asi8 * {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[values.unit]
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def epoch_us(ts: pd.Series) -> np.ndarray:
    """Microseconds since 1970 UTC of a tz-aware (or UTC-naive) timestamp column: the stored
    integers themselves (no copy) when the column is kept in microseconds, as ingest keeps
    it."""
    values = ts.array
    if (isinstance(values, pd.arrays.DatetimeArray) and values.unit == "us"
            and not values.isna().any()):
        return values.asi8
    return epoch_ns(ts) // 1000


#: Rows handled at a time where whole-column temporaries would cost a dense day gigabytes
#: (order checks here, port-call cells, land lookups and steps).
CHUNK_ROWS = 1 << 20


def in_vessel_time_order(mmsi: np.ndarray, t: np.ndarray) -> bool:
    """Whether rows with these MMSIs and (integer) times are ordered by (mmsi, time)."""
    step = CHUNK_ROWS  # no column-sized differences
    for a in range(0, max(len(mmsi) - 1, 0), step):
        dm = np.diff(mmsi[a:a + step + 1])
        if not np.all((dm > 0) | ((dm == 0) & (np.diff(t[a:a + step + 1]) >= 0))):
            return False
    return True


def vessel_rows(mmsi: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions of the rows whose MMSI is one of ``wanted``, ascending: the same as
    ``np.flatnonzero(np.isin(mmsi, wanted))``, by binary search when ``mmsi`` is in order (as
    build_tracks leaves it) instead of isin's sort of every row (four column-sized arrays)."""
    mmsi = np.asarray(mmsi)
    wanted = np.unique(np.asarray(wanted))
    if (len(mmsi) < 2 or mmsi.dtype.kind not in "iu" or wanted.dtype.kind not in "iu"
            or not bool(np.all(mmsi[1:] >= mmsi[:-1]))):
        return np.flatnonzero(np.isin(mmsi, wanted))
    wanted = wanted.astype(mmsi.dtype, copy=False)
    starts = np.searchsorted(mmsi, wanted, side="left")
    lengths = np.searchsorted(mmsi, wanted, side="right") - starts
    first = np.cumsum(lengths) - lengths
    return (np.arange(int(lengths.sum()), dtype=np.int64)
            - np.repeat(first - starts, lengths))


def is_sorted(pings: pd.DataFrame) -> bool:
    """Rows ordered by (mmsi, timestamp) and the timestamps comparable (no missing value)."""
    mmsi = pings["mmsi"].to_numpy()
    if len(mmsi) < 2:
        return True
    if pings["timestamp"].isna().any() or pd.isna(mmsi).any():
        return False
    return in_vessel_time_order(mmsi, epoch_ns(pings["timestamp"]))


def track_order(mmsi: np.ndarray, track: np.ndarray, t_ns: np.ndarray) -> np.ndarray | None:
    """Row order by (mmsi, track, time), or None when the rows are in that order already.

    For rows already in (mmsi, time) order (build_tracks' output) a stable sort on
    (mmsi, track) keeps time order within each track, and is not needed at all when each
    MMSI has one track (the usual case: no gather of every column by an identity order).
    """
    mmsi = mmsi.astype(np.int64, copy=False)
    if len(mmsi) < 2:
        return None
    if in_vessel_time_order(mmsi, t_ns):
        if not track.any():
            return None
        return np.argsort(mmsi * 100_000 + track, kind="stable")
    return np.lexsort((t_ns, track, mmsi))


def _roots(parent: np.ndarray) -> np.ndarray:
    """Follow parent links to each chain's first ping.

    Most pings continue the row just before them; such runs share the root of their first
    row, so pointer jumping (O(k log k)) runs only over the k rows that start a run.
    """
    n = len(parent)
    run_start = np.ones(n, dtype=bool)
    np.not_equal(parent[1:], np.arange(n - 1), out=run_start[1:])
    starts = np.flatnonzero(run_start)
    run_of = np.cumsum(run_start)
    run_of -= 1  # run number of every row
    up = run_of[parent[starts]]  # the run holding each run start's parent (itself at a root)
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        up = nxt
    return np.take(starts[up], run_of)


def build_tracks(pings: pd.DataFrame, cfg: TrackConfig | None = None) -> pd.DataFrame:
    """Return a copy of ``pings`` sorted by (mmsi, timestamp) with track and segment columns.

    Args:
        pings: cleaned pings (see :func:`ais.inputs.ingest.ingest`); not modified.
        cfg: segmentation thresholds; defaults to ``TrackConfig()``.
    """
    cfg = cfg or TrackConfig()
    # ingest's output is already sorted: skip the sort (and its copy of every column); the
    # frame is copy-on-write (pandas >= 3), so adding columns never touches the caller's
    out = pings.drop(columns=[c for c in TRACK_COLUMNS if c in pings.columns])
    if not is_sorted(out):
        out = out.sort_values(["mmsi", "timestamp"], kind="stable")
    out = out.reset_index(drop=True)
    n = len(out)
    if n == 0:
        for col, dtype in zip(TRACK_COLUMNS, ("int32", "int32", "float64", "float64"),
                              strict=True):
            out[col] = pd.Series(dtype=dtype)
        return out

    parent, step_from_previous_row = _parents(out, cfg)
    root = _roots(parent)
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

    # previous ping of the same track: in (mmsi, track, time) order, diff, scatter back; when
    # every MMSI is one track (the usual case) the rows are in that order already
    t_all = epoch_ns(out["timestamp"])
    track = out["track"].to_numpy()
    order = track_order(mmsi, track, t_all)
    t = t_all if order is None else t_all[order]
    # each array below is made once and filled in place: on millions of pings the
    # temporaries, not the arithmetic, are the cost
    same = np.zeros(n, dtype=bool)  # the row before is the same track
    if order is None:
        np.equal(mmsi[1:], mmsi[:-1], out=same[1:])
    else:
        key = mmsi.astype(np.int64)[order] * 100_000 + track[order]
        np.equal(key[1:], key[:-1], out=same[1:])
        del key
    other = ~same
    gap_h = np.empty(n)
    np.subtract(t[1:], t[:-1], out=gap_h[1:])
    gap_h[1:] /= 3.6e12
    np.copyto(gap_h, np.nan, where=other)
    step = np.empty(n)
    if order is None:
        step[1:] = step_from_previous_row
    else:
        step[1:] = consecutive_km(out["lat"].to_numpy(float)[order],
                                  out["lon"].to_numpy(float)[order])
    np.copyto(step, np.nan, where=other)
    # segment number = segment starts so far minus those before the track's first ping
    new_segment = other | (gap_h > cfg.gap_h)
    segment = np.cumsum(new_segment, dtype=np.int64)
    before_track = np.where(same, 0, segment)
    np.maximum.accumulate(before_track, out=before_track)  # starts so far never decrease
    segment -= before_track
    del before_track
    columns: dict[str, np.ndarray] = {"segment": segment.astype(np.int32),
                                      "gap_before_h": gap_h, "step_km": step}
    for name, values in columns.items():
        if order is None:
            out[name] = values
        else:
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
