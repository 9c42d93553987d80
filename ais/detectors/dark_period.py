"""Dark periods: silences in a vessel's track (AIS switched off, or simply not heard).

A candidate is every gap of at least ``cfg.dark_period.min_gap_h`` between consecutive pings
of one track (same MMSI and track, so two ships sharing an MMSI never make a fake gap), plus
*open* gaps: tracks whose last ping lies at least ``min_gap_h`` before the end of the data
(the latest ping in the whole input). Open gaps are reported with ``is_open=True``,
``end_time=NaT`` and ``duration_h`` measured up to the end of the data; tracks of fewer than
:data:`MIN_OPEN_TRACK_PINGS` pings are not reported as open (one or two stray reports are a
ship passing the edge of coverage or a garbled MMSI, not a ship that went quiet).

The rule (``passes_rule``) keeps GFW's definitions as anchors (raw gap > 6 h; "intentional
disabling" >= 12 h where reception was good and the vessel reported densely before) and
makes them hold on foreign data, a regional extract with satellite reporters in it:

* ``duration_h >= rule_min_gap_h`` (6 h by default; open gaps: so far) **and**
  ``>= SILENCE_INTERVALS * typical_gap_h`` (24 of the track's own median intervals): a
  satellite reporter heard every 30 minutes must be silent 12 h. (GFW: dense reporting
  before; here relative, so rare reporting never makes a gap count, nor raises its score:
  the forest sees ``reporting_vs_usual``, reports in the window before against the vessel's
  own rhythm, capped at 1, not reports per hour.)
* reception where the vessel was: ``neighbours_reporting >= min_neighbours`` (others kept
  reporting near either end while it was silent), **and** ``neighbours_before >=
  min_neighbours`` (others were heard near where it fell silent in the :data:`BEFORE_WINDOW_H`
  before: no report there before means reception unknown, which is not evidence), and for a
  closed gap whose ends lie more than ``neighbour_radius_km`` apart someone heard within
  :data:`WAY_RADIUS_SHARE` of that radius of the middle of its way (else it may have crossed
  water no receiver hears). (GFW: reception quality from satellite maps; we have only the file.)
* reception stayed usual: at least :data:`MIN_NEIGHBOUR_SHARE` of the vessels that reported
  near its start before kept reporting, at :data:`MIN_NEIGHBOUR_RATE_SHARE` of their report
  rate. When nearly everyone goes quiet at once, it is reception or the data, not the vessel,
* ``reports_per_h_before >= MIN_REPORTS_PER_H`` (1/h) in the ``density_window_h`` before,
* it happened inside the data's coverage (:mod:`ais.tracking.coverage`; the data window is an
  argument, by default the time span and per-region convex hulls of ``tracks``): an open gap
  is not dark when the vessel was last seen within ``max(EDGE_MIN_KM, EDGE_INTERVALS``
  intervals of travel) of the edge, or was sailing (>= :data:`MOVING_KN`) on a course within
  :data:`EDGE_CONE_DEG` of its nearest edge that leaves the data before it would have been
  missed (an hour, or 24 of its intervals); a closed gap is not dark when both ends lie at the
  edge, or the shortest way out and back in at its speed is that short. (GFW's feed is global
  and has no edges; a user's extract has.)
* it is not a stay at one spot near land: both ends reported <= :data:`HARBOUR_KN`, <=
  :data:`HARBOUR_KM` apart, land within :data:`HARBOUR_LAND_KM` (a night in a small harbour
  that is no configured port is not dark at sea),
* the vessel went quiet outside every port radius (ships often switch AIS off at berth).

Neighbours are counted in DuckDB without comparing all pairs: pings are binned into a grid of
cells at least ``neighbour_radius_km`` wide and into hours; each gap is expanded to the 3x3
cells around its start and end positions and to the hours it spans; a hash join on
(cell, hour) then leaves only pings that may qualify, which are checked exactly (time
strictly inside the gap, minus :data:`EDGE_MARGIN_H` at each end; great-circle distance).
The margin keeps a neighbour's last ping just before a shared reception hole from counting as
"reporting during" another vessel's silence. Longitudes are not wrapped at +-180 degrees.
"""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ais.config import Config
from ais.db import EARTH_RADIUS_KM, connect
from ais.detectors.words import num, where
from ais.events import conform
from ais.geography.geo import haversine_km
from ais.geography.ports import nearest_port
from ais.tracking import reception
from ais.tracking.coverage import DataWindow, bearing_deg, data_window, left_coverage, near_land
from ais.tracking.tracks import epoch_us

#: Feature columns, in order (units in the names; shares are fractions 0..1; ``in_port`` is 1
#: when the vessel went quiet inside a port radius).
#: What this detector finds, its id prefix (``DRK-...``), the colour of its
#: events on maps, exports and the report, and what ``other_mmsi`` is to it.
EVENT_TYPE = "dark_period"
ID_PREFIX = "DRK"
COLOUR = "#e41a1c"
OTHER_ROLE = ""
#: At sea by definition: a candidate on land or at a berth is a wait (:mod:`ais.judging.waits`).
AT_SEA = False
#: Scored by an isolation forest on FEATURES.
FOREST = True
#: Candidates of other types this one reads after they are found.
NEEDS: tuple[str, ...] = ()
FEATURES: tuple[str, ...] = (
    "duration_h",
    "distance_km",
    "implied_speed_kn",
    "reporting_vs_usual",
    "sog_before_kn",
    "neighbours_reporting",
    "neighbour_pings_per_h",
    "distance_to_port_km",
    "night_share",
    "in_port",
    "edge_km",
)

#: Columns the rule uses that are not forest features (after the features).
RULE_COLUMNS: tuple[str, ...] = (
    "neighbours_before", "neighbour_pings_per_h_before", "reports_per_h_before",
    "typical_gap_h", "end_edge_km", "left_coverage", "harbour_stay",
    "neighbours_on_way",
)

#: Where the vessel reappeared (NaN while open): for reach tests (dark meetups, reachable
#: ports); after the rule columns.
POSITION_COLUMNS: tuple[str, ...] = ("end_lat", "end_lon")

#: Before the neighbour join, a vessel's pings in one cell of neighbour_radius_km / this
#: and one slice of GROUP_MIN minutes become one weighted report at their mean place and time.
GROUP_CELLS_PER_RADIUS = 5
GROUP_MIN = 15

_US_PER_H = 3_600_000_000
_KM_PER_DEG = np.pi * EARTH_RADIUS_KM / 180.0
_NIGHT_SAMPLES = 96
_KEY_BUDGET = 2_000_000  # (gap, cell, time bin) keys of the neighbour join, at most about


def _ping_frame(tracks: pd.DataFrame) -> pa.Table:
    """The few columns the SQL needs, times as integer microseconds since 1970 UTC; an Arrow
    table over the frame's own arrays where their type allows (no copy of every ping). NaN
    becomes NULL, as DuckDB reads pandas' NaN, so medians and counts skip it."""
    sog = tracks["sog"] if "sog" in tracks.columns else pd.Series(np.nan, index=tracks.index)

    def floats(values: pd.Series) -> pa.Array:
        if values.dtype == np.float64:  # the column's own array (to_numpy with na_value copies)
            return pa.array(values.to_numpy(), from_pandas=True)
        return pa.array(pd.to_numeric(values, errors="coerce").to_numpy(float, na_value=np.nan),
                        from_pandas=True)

    return pa.table({
        "mmsi": tracks["mmsi"].to_numpy(np.int64),
        "track": tracks["track"].to_numpy(),
        "t_us": epoch_us(tracks["timestamp"]),
        "lat": floats(tracks["lat"]),
        "lon": floats(tracks["lon"]),
        "sog": floats(sog),
        "gap_h": floats(tracks["gap_before_h"]),
    })


def _gaps_sql(cfg: Config, data_end_us: int) -> str:
    """Closed and open gaps, one row each, with the positions at both ends."""
    dp = cfg.dark_period  # the coverage and cadence rules
    d = cfg.dark_period
    min_gap_us = int(round(d.min_gap_h * _US_PER_H))
    return f"""
    CREATE TEMP TABLE gaps AS
    WITH after AS (
        SELECT DISTINCT mmsi, track, t_us AS end_us FROM pings
        WHERE gap_h >= {d.min_gap_h} - 1e-9
    ),
    -- the as-of joins read only the tracks with a gap (a tenth of the pings, not all)
    closed AS (
        SELECT a.mmsi, a.track, b.t_us AS start_us, a.end_us
        FROM after a ASOF JOIN (SELECT mmsi, track, t_us FROM pings
                                SEMI JOIN after USING (mmsi, track)) b
          ON a.mmsi = b.mmsi AND a.track = b.track AND b.t_us < a.end_us
        WHERE a.end_us - b.t_us >= {min_gap_us}
    ),
    trk AS (
        SELECT mmsi, track, count(*) AS n, max(t_us) AS last_us FROM pings GROUP BY ALL
    ),
    open AS (
        SELECT mmsi, track, last_us AS start_us, NULL::BIGINT AS end_us FROM trk
        WHERE n >= {dp.min_open_track_pings} AND {data_end_us} - last_us >= {min_gap_us}
    ),
    both_ AS (SELECT * FROM closed UNION ALL SELECT * FROM open),
    -- positions at both ends; pings at the same instant resolve by (lat, lon), not row order
    s AS (
        SELECT g.*, p.lat, p.lon FROM both_ g JOIN pings p
          ON p.mmsi = g.mmsi AND p.track = g.track AND p.t_us = g.start_us
        QUALIFY row_number() OVER (PARTITION BY g.mmsi, g.track, g.start_us
                                   ORDER BY p.lat, p.lon) = 1
    ),
    e AS (
        SELECT s.*, p.lat AS end_lat, p.lon AS end_lon FROM s LEFT JOIN pings p
          ON p.mmsi = s.mmsi AND p.track = s.track AND p.t_us = s.end_us
        QUALIFY row_number() OVER (PARTITION BY s.mmsi, s.track, s.start_us
                                   ORDER BY p.lat, p.lon) = 1
    )
    SELECT row_number() OVER (ORDER BY mmsi, track, start_us) AS gid, *,
           end_us IS NULL AS is_open,
           coalesce(end_us, {data_end_us}) AS stop_us
    FROM e
    """


def _before_sql(cfg: Config, data_start_us: int) -> str:
    """The vessel's reporting rate and speed before each gap, and its typical interval."""
    dp = cfg.dark_period  # the coverage and cadence rules
    d = cfg.dark_period
    win_us = int(round(d.density_window_h * _US_PER_H))
    sog_us = int(round(dp.sog_window_h * _US_PER_H))
    # the window is cut at the start of the data (no penalty for what we could not see),
    # but never below one hour
    return f"""
    WITH before AS (
        SELECT g.gid,
               count(*) AS n_before,
               median(p.sog) FILTER (WHERE p.t_us >= g.start_us - {sog_us}) AS sog_before_kn
        FROM gaps g JOIN pings p
          ON p.mmsi = g.mmsi AND p.track = g.track
         AND p.t_us <= g.start_us AND p.t_us >= g.start_us - {win_us}
        GROUP BY g.gid
    ),
    typical AS (
        SELECT p.mmsi, p.track, median(p.gap_h) AS typical_gap_h
        FROM pings p SEMI JOIN gaps g ON p.mmsi = g.mmsi AND p.track = g.track
        GROUP BY ALL
    )
    SELECT g.gid,
           b.n_before / (greatest(least({win_us}, g.start_us - {data_start_us}),
                                  {_US_PER_H}) / {_US_PER_H}) AS reports_per_h_before,
           b.sog_before_kn, t.typical_gap_h
    FROM gaps g LEFT JOIN before b USING (gid) LEFT JOIN typical t USING (mmsi, track)
    """


def _ends_sql(cfg: Config) -> str:
    """Around each gap: the ping before its start (the course it was on), the median speed in
    the hour after its end, and the speeds reported at its two ends."""
    dp = cfg.dark_period  # the coverage and cadence rules
    sog_us = int(round(dp.sog_window_h * _US_PER_H))
    return f"""
    WITH prev AS (
        SELECT g.gid, p.lat AS prev_lat, p.lon AS prev_lon
        FROM gaps g ASOF LEFT JOIN (SELECT mmsi, track, t_us, lat, lon FROM pings
                                    SEMI JOIN gaps USING (mmsi, track)) p
          ON p.mmsi = g.mmsi AND p.track = g.track AND p.t_us < g.start_us
    ),
    after AS (
        SELECT g.gid, median(p.sog) AS sog_after_kn
        FROM gaps g JOIN pings p
          ON p.mmsi = g.mmsi AND p.track = g.track
         AND p.t_us >= g.end_us AND p.t_us <= g.end_us + {sog_us}
        GROUP BY g.gid
    ),
    at_ends AS (  -- the speeds the vessel reported as it fell silent and as it came back
        SELECT g.gid, min(p.sog) FILTER (WHERE p.t_us = g.start_us) AS sog_start_kn,
               min(p.sog) FILTER (WHERE p.t_us = g.end_us) AS sog_end_kn
        FROM gaps g JOIN pings p
          ON p.mmsi = g.mmsi AND p.track = g.track
         AND (p.t_us = g.start_us OR p.t_us = g.end_us)
        GROUP BY g.gid
    )
    SELECT g.gid, prev_lat, prev_lon, sog_after_kn, sog_start_kn, sog_end_kn
    FROM gaps g LEFT JOIN prev USING (gid) LEFT JOIN after USING (gid)
         LEFT JOIN at_ends USING (gid)
    """


def _time_bin_us(durations_h: np.ndarray) -> int:
    """Width of the time bins of the neighbour join: an hour, or wider when the gaps are so
    long (open gaps in data spanning months) that hourly keys would exceed the budget."""
    hours = float(np.sum(np.ceil(durations_h) + 1)) * 18  # 3x3 cells around both ends
    return int(max(1.0, np.ceil(hours / _KEY_BUDGET)) * _US_PER_H)


def _reports_sql(cfg: Config, source: str, where: str = "") -> str:
    """SQL grouping the pings of table ``source`` (``mmsi, t_us, lat, lon``) into reports:
    a vessel's pings in one small cell (:data:`GROUP_CELLS_PER_RADIUS` per neighbour radius)
    and one :data:`GROUP_MIN`-minute slice are one report of weight ``n``, at their mean
    time and place."""
    fd = cfg.dark_period.neighbour_radius_km / GROUP_CELLS_PER_RADIUS / _KM_PER_DEG
    slice_us = GROUP_MIN * 60_000_000
    return f"""
        SELECT mmsi, count(*) AS n, avg(t_us) AS t_us, avg(lat) AS lat, avg(lon) AS lon,
               t_us // {slice_us} AS slice
        FROM {source}
        {where}
        GROUP BY mmsi, floor(lat / {fd})::BIGINT,
                 floor(lon * cos(radians(floor(lat / {fd}) * {fd})) / {fd})::BIGINT,
                 t_us // {slice_us}"""


def halo_evidence(frame: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """What :func:`detect` reads of a partition's halo (rows of the same tracks): the
    other vessels' reports, grouped as the neighbour count groups them (``mmsi, n, t_us,
    lat, lon, slice``); a vessel at anchor heard every 10 s sends one report a slice, not
    90 pings."""
    if frame.empty:
        return _no_reports()
    con = connect()
    try:
        con.register("halo_pings", _ping_frame(frame))
        # grouped for each radius the neighbours are counted in (the way's is smaller)
        return pd.concat([con.execute(
            f"SELECT *, {c.dark_period.neighbour_radius_km:.17e} AS radius_km "
            f"FROM ({_reports_sql(c, 'halo_pings')}) ORDER BY ALL").df()
            for c in (cfg, _way_cfg(cfg))], ignore_index=True)
    finally:
        con.close()


def _way_cfg(cfg: Config) -> Config:
    """The configuration of the count on a closed silence's way: a smaller radius."""
    d = cfg.dark_period
    return dataclasses.replace(cfg, dark_period=dataclasses.replace(
        d, neighbour_radius_km=d.way_radius_share * d.neighbour_radius_km))


def _no_reports() -> pd.DataFrame:
    """An empty table of reports (:func:`halo_evidence`): no halo."""
    return pd.DataFrame({"mmsi": pd.Series(dtype="int64"), "n": pd.Series(dtype="int64"),
                         "t_us": pd.Series(dtype="float64"), "lat": pd.Series(dtype="float64"),
                         "lon": pd.Series(dtype="float64"), "slice": pd.Series(dtype="int64"),
                         "radius_km": pd.Series(dtype="float64")})


def _neighbours_sql(cfg: Config, bin_us: int, gaps: str = "gaps", halo: bool = False
                    ) -> tuple[str, float]:
    """The CTEs of the neighbour count over the windows of table ``gaps``: ``win`` (the
    windows, the first :data:`EDGE_MARGIN_H` of each end left out), ``gcell`` (the 3x3 coarse
    cells around each window's places), ``pp`` (the grouped reports with their coarse cells
    and time bins, with those of table ``halo_reports`` when ``halo``); and the coarse cells'
    height in degrees."""
    dp = cfg.dark_period  # the coverage and cadence rules
    radius = cfg.dark_period.neighbour_radius_km
    cd = 1.05 * radius / _KM_PER_DEG  # cell height in degrees (5 % slack for great circles)
    # a band's cells are as wide (in degrees of longitude) as ``cd`` km-equivalent at its
    # poleward edge, so they are at least ``radius`` wide everywhere in the band
    scale = (f"greatest(cos(radians(least(90.0, greatest(abs(({{y}}) * {cd}), "
             f"abs((({{y}}) + 1) * {cd}))))), 1e-6)")
    cy = f"floor(lat / {cd})::BIGINT"
    cx = f"floor(lon * {scale.format(y='cy')} / {cd})::BIGINT"
    slice_us = GROUP_MIN * 60_000_000
    in_slices = (f"WHERE t_us >= (SELECT min(lo_us) FROM win) // {slice_us} * {slice_us} "
                 f"AND t_us < ((SELECT max(hi_us) FROM win) // {slice_us} + 1) * {slice_us}")
    halo_reports = "" if not halo else f"""
        UNION ALL
        SELECT mmsi, n, t_us, lat, lon, slice FROM halo_reports
        WHERE radius_km = {radius:.17e}
          AND slice >= (SELECT min(lo_us) FROM win) // {slice_us}
          AND slice <= (SELECT max(hi_us) FROM win) // {slice_us}"""
    return f"""
    WITH win AS (
        SELECT gid, mmsi, lat, lon, end_lat, end_lon, is_open,
               start_us + least({int(dp.edge_margin_h * _US_PER_H)}, (stop_us - start_us) // 4)
                   AS lo_us,
               CASE WHEN is_open THEN stop_us + 1
                    ELSE stop_us - least({int(dp.edge_margin_h * _US_PER_H)},
                                         (stop_us - start_us) // 4) END AS hi_us
        FROM {gaps}
    ),
    pts AS (
        SELECT gid, lat, lon FROM win
        UNION ALL SELECT gid, end_lat AS lat, end_lon AS lon FROM win WHERE NOT is_open
    ),
    pcell AS (SELECT gid, lat, lon, {cy} AS cy FROM pts),
    gcell AS (
        SELECT DISTINCT gid, cy + dy AS cy,
               floor(lon * {scale.format(y='cy + dy')} / {cd})::BIGINT + dx AS cx
        FROM pcell, range(-1, 2) r1(dy), range(-1, 2) r2(dx)
    ),
    -- a vessel's pings in the same small cell and time slice, as one weighted report; whole
    -- slices, so a group is never cut by where this frame's windows begin or end, and a
    -- partition's halo (other vessels' reports, grouped alike) is read as the whole scan's
    grp AS (
        {_reports_sql(cfg, "pings", in_slices)}{halo_reports}
    ),
    pp AS (
        SELECT mmsi, n, t_us, lat, lon, cy, {cx} AS cx, t_us::BIGINT // {bin_us} AS hb, slice
        FROM (SELECT *, {cy} AS cy FROM grp)
    )
    """, cd


def _neighbours(con: duckdb.DuckDBPyConnection, cfg: Config, bin_us: int,
                gaps: str = "gaps", halo: bool = False) -> pd.DataFrame:
    """Other vessels reporting within the radius of either end while the vessel was silent
    (the windows of table ``gaps``): ``gid, neighbours_reporting, n_neighbour_pings`` of the
    gaps with any.

    The reports (grouped) that may qualify are those in the 3x3 coarse cells around each end
    and in the coarse time bins of the window; of those, the ones strictly inside the window
    and within the radius count (:func:`ais.tracking.reception.count_reporting` finds them
    without a distance per pair). ``halo``: a partition's halo is registered as table
    ``halo_reports`` (:func:`halo_evidence`), other vessels' reports counted as well."""
    ctes, cd = _neighbours_sql(cfg, bin_us, gaps, halo)
    w = con.execute(ctes + """
        SELECT gid, mmsi, lat, lon, end_lat, end_lon, is_open, lo_us, hi_us FROM win
    """).fetchnumpy()
    windows = reception.Windows(
        gid=np.asarray(w["gid"], np.int64), mmsi=np.asarray(w["mmsi"], np.int64),
        lat=_floats(w["lat"]), lon=_floats(w["lon"]),
        end_lat=_floats(w["end_lat"]), end_lon=_floats(w["end_lon"]),
        two_places=~np.asarray(w["is_open"], bool),
        lo_us=np.asarray(w["lo_us"], np.int64), hi_us=np.asarray(w["hi_us"], np.int64))
    cells = con.execute(ctes + " SELECT gid, cy, cx FROM gcell").df()
    r = con.execute(ctes + " SELECT mmsi, n, t_us, lat, lon, cy, cx, hb, slice FROM pp"
                    ).fetchnumpy()
    reports = reception.Reports(
        mmsi=np.asarray(r["mmsi"], np.int64), n=np.asarray(r["n"], np.int64),
        t_us=_floats(r["t_us"]), lat=_floats(r["lat"]), lon=_floats(r["lon"]),
        cy=np.asarray(r["cy"], np.int64), cx=np.asarray(r["cx"], np.int64),
        hb=np.asarray(r["hb"], np.int64), slice=np.asarray(r["slice"], np.int64))
    del r

    def exact_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
                 ) -> np.ndarray:
        con.register("exact_pairs", pa.table({"a": lat1, "b": lon1, "c": lat2, "d": lon2}))
        try:
            return con.execute("SELECT hav_km(a, b, c, d) AS km FROM exact_pairs"
                               ).fetchnumpy()["km"]
        finally:
            con.unregister("exact_pairs")

    return reception.count_reporting(
        windows, cells, reports, radius_km=cfg.dark_period.neighbour_radius_km, cd=cd,
        slice_us=GROUP_MIN * 60_000_000, bin_us=bin_us, exact_km=exact_km)


def _floats(values: np.ndarray) -> np.ndarray:
    """A fetched DOUBLE column as floats, NULL as NaN."""
    return np.ma.filled(np.ma.asarray(values, float), np.nan)


def _coverage(ev: pd.DataFrame, out: pd.DataFrame, window: DataWindow, cfg: Config
              ) -> dict[str, np.ndarray]:
    """Where the data could see each gap's vessel: its ends' distances to the edge of the
    data's extent, whether it sailed out of (or back into) the data, and whether the gap is
    a stay at one spot near land (a night in harbour)."""
    dp = cfg.dark_period  # the coverage and cadence rules
    lat, lon = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
    end_lat = ev["end_lat"].to_numpy(float, na_value=np.nan)
    end_lon = ev["end_lon"].to_numpy(float, na_value=np.nan)
    is_open = out["is_open"].to_numpy(bool)
    duration_h = out["duration_h"].to_numpy(float)
    typical = np.nan_to_num(out["typical_gap_h"].to_numpy(float), nan=0.0)
    sog_before = out["sog_before_kn"].to_numpy(float)
    sog_after = ev["sog_after_kn"].to_numpy(float, na_value=np.nan)
    course_out = bearing_deg(ev["prev_lat"].to_numpy(float, na_value=np.nan),
                             ev["prev_lon"].to_numpy(float, na_value=np.nan), lat, lon)
    edge = window.edge_km(lat, lon)
    end_edge = np.where(is_open, np.nan, window.edge_km(np.nan_to_num(end_lat, nan=lat),
                                                        np.nan_to_num(end_lon, nan=lon)))
    margin_out = np.maximum(dp.edge_min_km, dp.edge_intervals * typical
                            * np.nan_to_num(sog_before, nan=0.0) * 1.852)
    margin_in = np.maximum(dp.edge_min_km, dp.edge_intervals * typical
                           * np.nan_to_num(sog_after, nan=0.0) * 1.852)
    # how long the vessel may go unheard inside the covered water before that is itself a
    # silence: an hour, or dp.silence_intervals of its own intervals
    unheard_h = np.maximum(1.0, dp.silence_intervals * typical)
    # open: at the edge, or sailing out and able to leave before it would have been missed
    reach = np.nan_to_num(sog_before, nan=0.0) * 1.852 * np.minimum(duration_h, unheard_h)
    went_out = left_coverage(window, lat, lon, course_out, sog_before, margin_out, reach,
                             moving_kn=dp.moving_kn, cone_deg=dp.edge_cone_deg)
    # closed: out and back in at the edges, or the shortest way out and in again (to the
    # nearest edges at its speed) too short to be missed; a vessel that reappears at the
    # edge after crossing covered water unheard for longer than that was dark in it
    inside_km = (np.clip(np.nan_to_num(edge, nan=0.0), 0.0, None)
                 + np.clip(np.nan_to_num(end_edge, nan=0.0), 0.0, None))
    speed_kmh = np.fmax(np.nan_to_num(sog_before, nan=0.0),
                        np.nan_to_num(sog_after, nan=0.0)) * 1.852
    with np.errstate(divide="ignore", invalid="ignore"):
        way_h = np.where(speed_kmh > 0, inside_km / speed_kmh, np.inf)
    both_edges = (edge < margin_out) & (np.nan_to_num(end_edge, nan=np.inf) < margin_in)
    closed_left = both_edges | (way_h < unheard_h)
    left = np.where(is_open, went_out, closed_left)
    sog_start = ev["sog_start_kn"].to_numpy(float, na_value=np.nan)
    sog_end = ev["sog_end_kn"].to_numpy(float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        still = ((np.nan_to_num(sog_start, nan=np.inf) <= dp.harbour_kn)
                 & (np.nan_to_num(sog_end, nan=np.inf) <= dp.harbour_kn)
                 & (out["distance_km"].to_numpy(float) <= dp.harbour_km))
    harbour = np.zeros(len(out), dtype=bool)
    if still.any():
        harbour[still] = near_land(lat[still], lon[still], dp.harbour_land_km)
    return {"edge_km": edge, "end_edge_km": end_edge, "left_coverage": left,
            "harbour_stay": harbour}


def _night_share(start_us: np.ndarray, stop_us: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Share of each interval at local night (solar hour 18-06, solar time = UTC + lon/15 h).

    Sampled at evenly spaced instants across each interval: vectorised over gaps.
    """
    if len(start_us) == 0:
        return np.empty(0)
    frac = (np.arange(_NIGHT_SAMPLES) + 0.5) / _NIGHT_SAMPLES
    t_h = (start_us[:, None] + (stop_us - start_us)[:, None] * frac[None, :]) / _US_PER_H
    solar = np.mod(t_h + lon[:, None] / 15.0, 24.0)
    return ((solar >= 18.0) | (solar < 6.0)).mean(axis=1)


def _context(ev: pd.DataFrame, cfg: Config) -> list[str]:
    """A few words per event saying why it passes or not (a loop over events, not pings)."""
    dp = cfg.dark_period  # the coverage and cadence rules
    d = cfg.dark_period
    out = []
    for r in ev[["is_open", "duration_h", "neighbours_reporting", "neighbours_before",
                 "neighbour_pings_per_h", "neighbour_pings_per_h_before",
                 "reports_per_h_before", "typical_gap_h", "in_port", "left_coverage",
                 "harbour_stay", "edge_km", "neighbours_on_way"]].itertuples(index=False):
        nb, usual = int(r.neighbours_reporting), int(r.neighbours_before)
        typ = r.typical_gap_h
        if r.in_port:
            why = "went quiet inside a port zone (AIS is often off at berth)"
        elif r.harbour_stay:
            why = "a stay at one spot near the coast (a night in harbour, not dark at sea)"
        elif r.left_coverage:
            why = (f"left the data's coverage: last seen {r.edge_km:.0f} km from the edge of "
                   "the data or sailing out of it (or came back in at its edge)")
        elif nb < d.min_neighbours:
            why = (f"reception hole or empty sea: {nb} other vessels reported within "
                   f"{d.neighbour_radius_km:g} km")
        elif r.neighbours_on_way < d.min_neighbours:
            why = ("reception unknown on its way: nobody was heard within "
                   f"{dp.way_radius_share * d.neighbour_radius_km:g} km of the middle of its way "
                   "between its ends")
        elif usual < d.min_neighbours:
            why = (f"reception unknown: no other vessel reported within "
                   f"{d.neighbour_radius_km:g} km in the {dp.before_window_h:g} h before")
        elif nb < dp.min_neighbour_share * usual:
            why = (f"reception hole or a gap in the data: only {nb} of the {usual} vessels "
                   f"reporting nearby before kept reporting")
        elif r.neighbour_pings_per_h < dp.min_neighbour_rate_share * r.neighbour_pings_per_h_before:
            why = (f"reception hole or a gap in the data: vessels nearby sent "
                   f"{r.neighbour_pings_per_h:.0f} reports/h during it against "
                   f"{r.neighbour_pings_per_h_before:.0f}/h before")
        elif not r.reports_per_h_before >= dp.min_reports_per_h:
            why = f"sparse reporting before the gap ({r.reports_per_h_before:.1f} reports/h)"
        elif np.isfinite(typ) and r.duration_h < dp.silence_intervals * typ:
            why = (f"usual for this sparsely received vessel (median interval "
                   f"{typ * 60:.0f} min: it needs {dp.silence_intervals * typ:.0f} h of silence)")
        elif r.duration_h < d.rule_min_gap_h:
            why = f"short gap (< {d.rule_min_gap_h:g} h) with {nb} vessels reporting nearby"
        elif r.duration_h >= d.intentional_gap_h:
            why = (f"intentional-length gap (>= {d.intentional_gap_h:g} h) with {nb} vessels "
                   f"reporting nearby")
        else:
            why = f"gap >= {d.rule_min_gap_h:g} h with {nb} vessels reporting nearby"
        out.append(("open: still dark at end of data; " if r.is_open else "") + why)
    return out


def detect(tracks: pd.DataFrame, cfg: Config, window: DataWindow | None = None,
           around: pd.DataFrame | None = None) -> pd.DataFrame:
    """Dark-period candidates with features and the rule verdict.

    Args:
        tracks: output of :func:`ais.tracking.tracks.build_tracks`; not modified.
        cfg: configuration; ``cfg.dark_period`` holds the thresholds, ``cfg.places`` the
            ports for ``distance_to_port_km``.
        window: the data's time span and spatial extent (:func:`ais.tracking.coverage.data_window`
            of ``tracks`` when not given; a partition of a larger scan passes the whole's).
        around: other vessels' reports (:func:`halo_evidence` of rows of the same tracks),
            read only as reception evidence, never for silences of their own: a partition's
            halo (:func:`halo_places`, :mod:`ais.runtime.halo`).

    Returns:
        One row per gap (see :mod:`ais.events`), ordered by mmsi, track and start time,
        with the :data:`FEATURES` columns.
    """
    dp = cfg.dark_period  # the coverage and cadence rules
    if tracks.empty:
        return conform(pd.DataFrame(), "dark_period", FEATURES)
    pings = _ping_frame(tracks)
    window = window if window is not None else data_window(tracks)
    data_start_us = min(window.start_us, int(pc.min(pings["t_us"]).as_py()))
    data_end_us = max(window.end_us, int(pc.max(pings["t_us"]).as_py()))
    con = connect()
    try:
        con.register("pings", pings)
        con.execute(_gaps_sql(cfg, data_end_us))
        gaps = con.execute("SELECT * FROM gaps ORDER BY gid").df()
        if gaps.empty:
            return conform(pd.DataFrame(), "dark_period", FEATURES)
        # a partition's halo: other vessels' reports, evidence only, never silences
        halo = around is not None
        if halo:
            con.register("halo_reports", around)
        before = con.execute(_before_sql(cfg, data_start_us)).df()
        ends = con.execute(_ends_sql(cfg)).df()
        bin_us = _time_bin_us((gaps["stop_us"] - gaps["start_us"]).to_numpy(float) / _US_PER_H)
        neigh = _neighbours(con, cfg, bin_us, halo=halo)
        # the same count over the hour before the silence, around where it began
        con.execute(f"""
            CREATE TEMP TABLE gaps_before AS
            SELECT gid, mmsi, lat, lon, NULL::DOUBLE AS end_lat, NULL::DOUBLE AS end_lon,
                   TRUE AS is_open, start_us - {int(dp.before_window_h * _US_PER_H)} AS start_us,
                   start_us AS stop_us
            FROM gaps
        """)
        usual = _neighbours(con, cfg, _US_PER_H, "gaps_before", halo)
        d = cfg.dark_period
        # and around the middle of the way between a closed gap's ends, from the window
        # before it to its end: was anyone ever heard where the vessel must have passed?
        con.execute(f"""
            CREATE TEMP TABLE gaps_way AS
            SELECT gid, mmsi, (lat + end_lat) / 2 AS lat, (lon + end_lon) / 2 AS lon,
                   NULL::DOUBLE AS end_lat, NULL::DOUBLE AS end_lon, TRUE AS is_open,
                   start_us - {int(dp.before_window_h * _US_PER_H)} AS start_us, stop_us
            FROM gaps
            WHERE NOT is_open
              AND hav_km(lat, lon, end_lat, end_lon) > {cfg.dark_period.neighbour_radius_km}
        """)
        way_cfg = _way_cfg(cfg)
        way = _neighbours(con, way_cfg, _time_bin_us(
            (gaps["stop_us"] - gaps["start_us"]).to_numpy(float) / _US_PER_H
            + dp.before_window_h), "gaps_way", halo)
    finally:
        con.close()
    # the join leaves out the first dp.edge_margin_h (at most a quarter) of the window
    # (and what lies before the start of the data, which nobody could report in)
    started = gaps.set_index("gid")["start_us"].reindex(usual["gid"]).to_numpy(float)
    window_h = np.clip((started - data_start_us) / _US_PER_H, 0.25,
                       dp.before_window_h - min(dp.edge_margin_h, dp.before_window_h / 4))
    usual = usual.assign(neighbour_pings_per_h_before=usual["n_neighbour_pings"].to_numpy(float)
                         / window_h)
    usual = usual.rename(columns={"neighbours_reporting": "neighbours_before"})

    way = way.rename(columns={"neighbours_reporting": "neighbours_on_way"})[
        ["gid", "neighbours_on_way"]]
    ev = (gaps.merge(before, on="gid", how="left").merge(neigh, on="gid", how="left")
          .merge(way, on="gid", how="left")
          .merge(ends, on="gid", how="left")
          .merge(usual[["gid", "neighbours_before", "neighbour_pings_per_h_before"]],
                 on="gid", how="left"))
    ev = ev.sort_values("gid").reset_index(drop=True)
    start_us = ev["start_us"].to_numpy(np.int64)
    stop_us = ev["stop_us"].to_numpy(np.int64)
    is_open = ev["is_open"].to_numpy(bool)
    lat, lon = ev["lat"].to_numpy(float), ev["lon"].to_numpy(float)
    end_lat = ev["end_lat"].to_numpy(float, na_value=np.nan)
    end_lon = ev["end_lon"].to_numpy(float, na_value=np.nan)

    duration_h = (stop_us - start_us) / _US_PER_H
    distance_km = np.where(is_open, np.nan, haversine_km(lat, lon, end_lat, end_lon))
    with np.errstate(divide="ignore", invalid="ignore"):
        implied_kn = np.where(is_open | (duration_h <= 0), np.nan,
                              distance_km / 1.852 / duration_h)
    neighbours = ev["neighbours_reporting"].fillna(0).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        nb_rate = np.where(duration_h > 0,
                           ev["n_neighbour_pings"].fillna(0).to_numpy(float) / duration_h, 0.0)
    _, port_km, in_port = nearest_port(lat, lon, cfg)
    port_km = np.where(np.isfinite(port_km), port_km, np.nan)
    mid_lon = np.where(is_open, lon, np.nanmean(np.c_[lon, end_lon], axis=1)
                       if len(lon) else lon)

    out = pd.DataFrame({
        "mmsi": ev["mmsi"].to_numpy(np.int64),
        "track": ev["track"].to_numpy(np.int32),
        "start_time": pd.to_datetime(start_us, unit="us", utc=True),
        "end_time": pd.to_datetime(ev["end_us"].astype("Int64"), unit="us", utc=True),
        "duration_h": duration_h,
        "lat": lat,
        "lon": lon,
        "is_open": is_open,
        "distance_km": distance_km,
        "implied_speed_kn": implied_kn,
        "reports_per_h_before": ev["reports_per_h_before"].to_numpy(float, na_value=np.nan),
        "sog_before_kn": ev["sog_before_kn"].to_numpy(float, na_value=np.nan),
        "typical_gap_h": ev["typical_gap_h"].to_numpy(float, na_value=np.nan),
        "neighbours_reporting": neighbours,
        "neighbour_pings_per_h": nb_rate,
        "distance_to_port_km": port_km,
        "night_share": _night_share(start_us, stop_us, mid_lon),
    })
    d = cfg.dark_period
    typical = out["typical_gap_h"].to_numpy(float)
    reports = out["reports_per_h_before"].to_numpy(float)
    # reports in the window before against the vessel's own rhythm (1 = as usual): a
    # sparse reporter is not unusual for being sparse
    with np.errstate(invalid="ignore"):
        out["reporting_vs_usual"] = np.clip(reports * typical, 0.0, 1.0)
    cover = _coverage(ev, out, window, cfg)
    for col in ("neighbours_before", "neighbour_pings_per_h_before"):
        out[col] = ev[col].fillna(0).to_numpy(float)
    far_apart = (~is_open) & (np.nan_to_num(distance_km) > d.neighbour_radius_km)
    out["neighbours_on_way"] = np.where(far_apart, ev["neighbours_on_way"].fillna(0), np.nan)
    for col, values in cover.items():
        out[col] = values.astype(float)
    usual_reception = (
        (out["neighbours_before"] >= d.min_neighbours)  # reception there is known at all
        & ~(out["neighbours_on_way"] < d.min_neighbours)  # ... and on the way between ends
        & (out["neighbours_reporting"] >= dp.min_neighbour_share * out["neighbours_before"])
        & (out["neighbour_pings_per_h"]
           >= dp.min_neighbour_rate_share * out["neighbour_pings_per_h_before"]))
    out["passes_rule"] = (
        (out["duration_h"] >= d.rule_min_gap_h)
        & (out["neighbours_reporting"] >= d.min_neighbours)
        & usual_reception
        & (out["reports_per_h_before"].fillna(0.0) >= dp.min_reports_per_h)
        & (out["duration_h"] >= dp.silence_intervals * np.nan_to_num(typical, nan=0.0))
        & ~in_port & ~cover["left_coverage"] & ~cover["harbour_stay"]
    )
    out["in_port"] = in_port.astype(float)
    out["context"] = _context(out, cfg)
    last = [f for f in FEATURES if f in out.columns] + list(RULE_COLUMNS)
    out = out[[c for c in out.columns if c not in last] + last]
    out["end_lat"], out["end_lon"] = end_lat, end_lon
    return conform(out, "dark_period", FEATURES)


#: How a partition's halo serves this detector (:mod:`ais.runtime.halo`): its pings are
#: reception evidence only, never silences of their own (``detect(around=...)``).
HALO = "evidence"


def halo_km(cfg: Config) -> float:
    """How far from a silence's places other vessels' pings may count as reception evidence
    (the neighbour radius), plus the drift of a vessel's reports grouped into one (a small
    cell of :data:`GROUP_CELLS_PER_RADIUS` per radius) and 5 % for great circles."""
    return cfg.dark_period.neighbour_radius_km * (1 + 2 / GROUP_CELLS_PER_RADIUS) * 1.05


def halo_places(tracks: pd.DataFrame, cfg: Config, window: DataWindow | None = None
                ) -> pd.DataFrame:
    """The places and times whose other vessels' pings the silences of ``tracks`` read:
    ``mmsi, lat, lon, lo_us, hi_us`` for each gap's start, and a closed gap's end and the
    middle of its way, from ``before_window_h`` before the start to the end (open: the end
    of the data), widened by one grouping slice at each end. A partition answers as the
    whole when it also holds every other vessel's ping within :func:`halo_km` of these
    places in these times (:mod:`ais.runtime.halo`)."""
    cols = ["mmsi", "lat", "lon", "lo_us", "hi_us"]
    if tracks.empty:
        return pd.DataFrame(columns=cols)
    pings = _ping_frame(tracks)
    window = window if window is not None else data_window(tracks)
    data_end_us = max(window.end_us, int(pc.max(pings["t_us"]).as_py()))
    slice_us = GROUP_MIN * 60_000_000
    before_us = int(cfg.dark_period.before_window_h * _US_PER_H)
    con = connect()
    try:
        con.register("pings", pings)
        con.execute(_gaps_sql(cfg, data_end_us))
        return con.execute(f"""
            WITH g AS (SELECT mmsi, lat, lon, end_lat, end_lon, is_open,
                              start_us - {before_us + slice_us} AS lo_us,
                              stop_us + {slice_us} + 1 AS hi_us FROM gaps)
            SELECT mmsi, lat, lon, lo_us, hi_us FROM g
            UNION ALL SELECT mmsi, end_lat, end_lon, lo_us, hi_us FROM g WHERE NOT is_open
            UNION ALL SELECT mmsi, (lat + end_lat) / 2, (lon + end_lon) / 2, lo_us, hi_us
                      FROM g WHERE NOT is_open
        """).df()
    finally:
        con.close()


def _reachable_words(ev: pd.Series) -> str:
    ports = ev.get("reachable_ports")
    return f"; could have called at {ports}" if isinstance(ports, str) and ports else ""


def reason(ev: pd.Series) -> str:
    """One sentence for a dark period row: what happened, with numbers and units."""
    n = ev.get("neighbours_reporting")
    others = (f"while {num(n, 0)} other vessel{'' if n == 1 else 's'} kept reporting nearby"
              if pd.notna(n) else "")
    if bool(ev.get("is_open")):
        return (f"Dark for {num(ev['duration_h'])} h and still silent at the end of the data, "
                f"last seen {where(ev)} {others}").strip() + _reachable_words(ev)
    return (f"Dark {num(ev['duration_h'])} h starting {where(ev)} {others}; reappeared "
            f"{num(ev.get('distance_km'), 0)} km away (implied "
            f"{num(ev.get('implied_speed_kn'))} kn)") + _reachable_words(ev)


def decisive(events: pd.DataFrame, cfg: Config) -> np.ndarray:
    """A silence of GFW's intentional length while others kept reporting nearby is flagged on
    its rule alone, whatever the forest says (see ScoringConfig)."""
    neighbours = events.get("neighbours_reporting", pd.Series(0.0, index=events.index))
    return ((events["duration_h"] >= cfg.dark_period.intentional_gap_h)
            & (neighbours >= cfg.dark_period.min_neighbours)).to_numpy()


def annotate(found: pd.DataFrame, tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The ports each silence could have hidden a call at (:mod:`ais.detectors.reachable`)."""
    from ais.detectors.reachable import reachable_ports

    return reachable_ports(found, tracks, cfg)
