"""Meetups: two vessels together, slowly, for hours (the look of a ship-to-ship transfer).

Method (GFW's encounter definition, vectorised in DuckDB; no all-pairs comparison):

1. **Resample.** Each track (mmsi, track) is sampled on a grid of ``resample_min`` slots
   aligned to the Unix epoch, so every vessel shares the same slot instants. A slot gets a
   position only if it lies between two consecutive pings of the track less than
   ``max_interpolation_gap_h`` apart, or less than its own rhythm allows for a sparse
   (satellite) reporter (:func:`ais.tracking.coverage.allowed_gap_h`: six of the track's median
   intervals, at most 3 h; GFW interpolates only across gaps < 1 h, which would leave two
   vessels heard every 30-45 minutes with hardly a shared slot); lat, lon and SOG are
   interpolated linearly, and nothing is invented across longer silences. Only slow ping
   pairs are sampled (speed below :data:`candidate_speed_kn`, from SOG, or from the implied
   speed where SOG is missing): vessels under way cannot stay within a few hundred metres
   of each other for hours.
   The pings around each slot instant are found without a window over every ping: a
   GROUP BY keeps the first and last ping of each track in each slot interval, and a window
   over those (a few per track and slot) pairs the last ping of one interval with the first
   of the next. A slot exactly on a ping is taken from the ping.
   **Stops seen by one fix.** A pair of pings longer than a slot, slow at one end and under
   way at the other, is a departure (or an arrival): the vessel is held at its slow fix
   until it had to leave to reach the other fix at the speed it reported there (from when
   it arrived, for an arrival). A satellite reporter heard every 40-100 minutes otherwise
   loses up to an interval at each end of its stop: on the held-out synthetic seed 6161 a
   4.3 h meeting was found as 1.7 h. Dense reporting (pings no more than a slot apart) is
   untouched.
   **How sure each estimate is.** Each slot carries an ``allowance_m``: how far the vessel
   may have drifted from the estimate, at its speed (the larger of the reported and implied
   speeds around it, at most ``max_median_speed_kn`` and at most ``drift_moved_factor`` times
   the fastest its slow fixes moved apart) for its time to the nearest fix beyond
   half a slot (GFW's 10-minute resampling of dense tracks judges positions at most 5
   minutes from a fix as they are), capped at ``max_fix_allowance_m``. Dense slots have none.
2. **Bin and join.** Slots are put in a space grid whose cells are slightly bigger than
   ``max_distance_m`` (longitude cells widened by 1/cos(latitude) of the grid row's poleward
   neighbour, up to the pole, where a row is one cell). Each slot is joined, by hash equality
   on (slot, cell), to the slots of *other* MMSIs copied into half of its neighbourhood (own
   cell, east, and the three cells south), so every pair of nearby slots is compared exactly
   once; one MMSI never meets itself, not even across its tracks. A flat-earth test screens
   candidates and the haversine distance <= ``max_distance_m`` decides. Work grows with the
   number of vessels near each vessel, not with the square of all vessels.
   **Satellite reporters** (only when some slot has an allowance): the pairs with a sure
   moment within ``max_distance_m`` (below) and an uncertain vessel have their other slots
   paired by instant, adding those within ``max_distance_m`` plus the pair's allowances
   (capped at ``max_fix_allowance_m``; no second grid). Every slot judged with an
   allowance, this one or a close one whose estimates are uncertain, then counts only when
   the pair's nearest sure moments on either side (allowances summing to at most
   ``fix_anchor_m``: both near a real fix) were within ``max_distance_m``
   (:func:`_uncertain_close_sql`): closeness is judged at the fixes, and
   the estimates between them may carry it across (a silence of up to 3 h is bridged when
   both are heard again close together, since runs merge over ``merge_gap_h``) but not
   invent it. ``bench/sparse_meetups.py`` measures both sides on simulated satellite pairs.
3. **Runs.** Close slots of the same pair of tracks form runs; runs less than
   ``merge_gap_h`` apart merge into one meeting; meetings spanning at least
   ``min_duration_h`` (first to last close slot) are candidates. (Close slots are first
   grouped into blocks ``merge_gap_h`` long, which no gap can split, so the window that
   finds the gaps runs over blocks rather than over every close slot.)

One event per meeting. ``mmsi`` is the smaller MMSI and ``track`` its track; ``other_mmsi``
the larger and ``other_track`` its track (the order is arbitrary but stable, so event ids
are deterministic). ``lat``/``lon`` is the median midpoint of the pair over its close slots;
``start_time``/``end_time`` are the first and last close slot instants. ``is_open`` is true
when the meeting lasts until the end of the input (it may continue in the next file).

Features (units in the names):

- ``duration_h``: first to last close slot of the merged meeting.
- ``close_share``: share of the meeting's slots in which the pair was within range.
- ``median_distance_m`` / ``min_distance_m``: between the pair over its close slots.
- ``median_speed_kn``: the larger of the two vessels' median speeds over the close slots
  (so the rule's "median speed < 2 kn" holds for both).
- ``distance_to_port_km`` / ``distance_to_anchorage_km`` / ``distance_to_sts_site_km``:
  to the nearest configured place of that kind (NaN when none is configured).
- ``in_port`` / ``in_anchorage``: 1 inside that place's radius.
- ``night_share``: share of the close slots at local solar night (18-06).
- ``dark_before_after``: 1 if either vessel's track has a reporting gap of at least
  ``cfg.dark_period.min_gap_h`` overlapping the ``dark_window_h`` before the start, the
  meeting itself or the ``dark_window_h`` after the end.
- ``flags_differ``: 1 when the MID flags of the two MMSIs differ (an unallocated MID counts
  as a flag of its own).
- ``either_dprk``: 1 when either MMSI carries the DPRK MID (445).
- ``tug_or_pilot``: 1 when either vessel is a tug or a pilot boat.

Annotation columns (not features): ``other_track``, ``name``, ``other_name``,
``vessel_class``, ``other_vessel_class``, ``flag_iso2``, ``other_flag_iso2``.

Rule (``passes_rule``): ``duration_h >= rule_min_duration_h`` and
``median_speed_kn < max_median_speed_kn`` and ``distance_to_port_km >= rule_min_port_km``
and outside every anchorage radius and port radius, and neither vessel is a tug or pilot,
and the pair is not two fishing vessels (fleets trawl side by side; pair trawlers too).

``context``: ``"tug/pilot work in port"`` (a tug or pilot within a port radius or closer than
``rule_min_port_km`` to a port), ``"anchorage: <name>"`` (inside an anchorage radius),
``"inside port zone"`` (inside a port radius or closer than ``rule_min_port_km``),
``"fishing vessels working together"`` (both vessels fishing), else ``"at sea"``. A tug or
pilot with a ship at sea has context ``"at sea"`` but does not pass the rule.

Speed (``bench/crowding.py``): 2,000 vessels anchored for 24 h within 10 km, reporting every
minute (2.88 M pings, ~60,000 candidate meetings), take about 3-4 s on 2 shared cores.

Limits: longitudes are not wrapped at +-180 degrees (the watch areas are far from it).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import connect
from ais.detectors.words import num, where
from ais.errors import InputError
from ais.events import conform
from ais.geography.geo import KM_PER_DEG, nearest_place
from ais.geography.ports import nearest_port
from ais.inputs.identity import DPRK_MID, flag_of
from ais.tracking.coverage import CADENCE_GAPS, MAX_CADENCE_GAP_H, DataWindow

#: What this detector finds, its id prefix (``MTG-...``), the colour of its
#: events on maps, exports and the report, and what ``other_mmsi`` is to it.
EVENT_TYPE = "meetup"
ID_PREFIX = "MTG"
COLOUR = "#377eb8"
OTHER_ROLE = "partner"
#: At sea by definition: a candidate on land or at a berth is a wait (:mod:`ais.judging.waits`).
AT_SEA = True
#: Scored by an isolation forest on FEATURES.
FOREST = True
#: Candidates of other types this one reads after they are found.
NEEDS: tuple[str, ...] = ()
FEATURES: tuple[str, ...] = (
    "duration_h", "close_share", "median_distance_m", "min_distance_m", "median_speed_kn",
    "distance_to_port_km", "distance_to_anchorage_km", "distance_to_sts_site_km", "in_port",
    "in_anchorage", "night_share", "dark_before_after", "flags_differ", "either_dprk",
    "tug_or_pilot",
)

#: Non-numeric (or identifying) columns added after the features.
ANNOTATIONS: tuple[str, ...] = (
    "other_track", "name", "other_name", "vessel_class", "other_vessel_class", "flag_iso2",
    "other_flag_iso2",
)

REQUIRED_COLUMNS = ("mmsi", "track", "timestamp", "lat", "lon")
TUG_PILOT = ("tug", "pilot")

_M_PER_DEG_LAT = 111_194.9  # metres per degree of latitude on the 6371.0088 km sphere
_CELL_MARGIN = 1.02  # cells 2 % bigger than the search radius (haversine vs. grid rounding)
_PAIR_BASE = 2**31  # pair key = vid_a * _PAIR_BASE + vid_b


def _dbl(x: float) -> str:
    """A DOUBLE literal for SQL (a plain ``0.5`` would be a slow DECIMAL in DuckDB)."""
    return f"{float(x):.17e}"


def candidate_speed_kn(cfg: Config) -> float:
    """Slots are only made from ping pairs slower than this (generous: 3 kn by default)."""
    return max(3.0, 1.5 * cfg.meetup.max_median_speed_kn)


def _check(tracks: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in tracks.columns]
    if missing:
        raise InputError(
            f"meetup.detect needs the output of ais.tracking.tracks.build_tracks; missing columns "
            f"{missing} (found {list(tracks.columns)})"
        )


def _opt(tracks: pd.DataFrame, col: str, sql_type: str) -> str:
    """A column if present, else a typed NULL (so minimal frames work)."""
    return f'"{col}"' if col in tracks.columns else f"CAST(NULL AS {sql_type}) AS \"{col}\""


def _slots_sql(cfg: Config, tracks: pd.DataFrame) -> str:
    """Slow tracks resampled on the epoch-aligned slot grid, with their grid cell.

    ``vid`` numbers the tracks in (mmsi, track) order, so ``vid`` order is MMSI order.
    """
    mc = cfg.meetup
    step_ms = int(round(mc.resample_min * 60_000))
    max_gap_ms = _dbl(mc.max_interpolation_gap_h * 3_600_000)
    slow = _dbl(candidate_speed_kn(cfg))
    # a sparse (satellite) reporter is interpolated across the silences its own rhythm
    # allows: CADENCE_GAPS of its median intervals, at most MAX_CADENCE_GAP_H
    floor_h = mc.max_interpolation_gap_h
    cap_ms = _dbl(max(floor_h, MAX_CADENCE_GAP_H) * 3_600_000)
    if "gap_before_h" in tracks.columns:
        cadence = f"""cad AS (
        SELECT mmsi, track, least({cap_ms}, greatest({max_gap_ms},
               {_dbl(CADENCE_GAPS)} * median(gap_before_h) * 3.6e6)) AS max_gap_ms
        FROM pings {_may_be_slow(tracks, slow)} GROUP BY ALL
    ),"""
    else:
        cadence = f"cad AS (SELECT DISTINCT mmsi, track, {max_gap_ms} AS max_gap_ms FROM pings),"
    slow = _dbl(candidate_speed_kn(cfg))
    dlat = _dbl(_cell_lat_deg(cfg))
    ping = "{'t': epoch_ms(timestamp), 'lat': lat, 'lon': lon, 'sog': sog}"
    return f"""
    CREATE TEMP TABLE slots AS
    WITH {cadence}
    b AS (  -- first and last ping of each track in each slot interval [k, k + 1)
        SELECT mmsi, track, CAST(floor(epoch_ms(timestamp) / {step_ms}) AS BIGINT) AS b,
            min({ping}) AS first, max({ping}) AS last
        FROM (SELECT mmsi, track, timestamp, lat, lon, {_opt(tracks, 'sog', 'DOUBLE')}
              FROM pings WHERE lat IS NOT NULL AND lon IS NOT NULL
                           AND timestamp IS NOT NULL)
        {_may_be_slow(tracks, slow)}
        GROUP BY ALL
    ),
    p AS (  -- consecutive pings around slot instants: the last of one interval and the
            -- first of the next interval that has pings
        SELECT mmsi, track, last.t AS t0, last.lat AS lat0, last.lon AS lon0,
            last.sog AS sog0, lead(first.t) OVER w AS t1, lead(first.lat) OVER w AS lat1,
            lead(first.lon) OVER w AS lon1, lead(first.sog) OVER w AS sog1
        FROM b
        WINDOW w AS (PARTITION BY mmsi, track ORDER BY b)
        UNION ALL  -- a ping exactly on a slot instant that starts its track or a segment
        SELECT mmsi, track, first.t, first.lat, first.lon, first.sog,
            last.t, last.lat, last.lon, last.sog
        FROM b WHERE first.t = b * {step_ms} AND last.t > first.t
    ),
    q AS (
        SELECT *,
            hav_km(lat0, lon0, lat1, lon1) / 1.852e0 / ((t1 - t0) / 3.6e6) AS implied_kn
        FROM p JOIN cad USING (mmsi, track)
        WHERE t1 > t0 AND t1 - t0 < cad.max_gap_ms
    ),
    i AS (  -- slot instants in [t0, t1] of a slow pair
        SELECT *, (k * {step_ms} - t0) / (t1 - t0) AS f
        FROM (SELECT *, unnest(range(CAST(ceil(t0 / {step_ms}) AS BIGINT),
                                     CAST(floor(t1 / {step_ms}) AS BIGINT) + 1)) AS k
              FROM q WHERE coalesce((sog0 + sog1) / 2, implied_kn) < {slow})
    ),
    h AS (  -- a stop seen by one fix of a pair longer than a slot whose other fix is under
            -- way: the vessel held its stop until it left (or from when it arrived) at the
            -- speed it reported under way (see _holds)
        {_holds_sql(step_ms, slow)}
    ),
    g AS (  -- a slot exactly on a ping is held by the pairs on both sides: keep one
        SELECT mmsi, track, k, avg(lat) AS lat, avg(lon) AS lon, avg(speed_kn) AS speed_kn,
            min(fix_ms) AS fix_ms, max(drift_kn) AS drift_kn
        FROM (
            SELECT mmsi, track, k, lat0 + f * (lat1 - lat0) AS lat,
                lon0 + f * (lon1 - lon0) AS lon,
                coalesce(sog0 + f * (sog1 - sog0), sog0, sog1, implied_kn) AS speed_kn,
                least(k * {step_ms} - t0, t1 - k * {step_ms}) AS fix_ms,
                greatest(coalesce(sog0, 0e0), coalesce(sog1, 0e0), implied_kn) AS drift_kn
            FROM i
            UNION ALL
            SELECT mmsi, track, k, lat, lon, speed_kn, fix_ms, drift_kn FROM h
        )
        GROUP BY mmsi, track, k
    ),
    moved AS (  -- how fast the track's fixes moved apart while slow (its fastest slow pair)
        SELECT mmsi, track, max(implied_kn) AS moved_kn FROM q
        WHERE coalesce((sog0 + sog1) / 2, implied_kn) < {slow} GROUP BY ALL
    ),
    cells AS (  -- drift: the reported speed, at most drift_moved_factor times that
        SELECT g.* REPLACE (least(drift_kn, coalesce({_dbl(mc.drift_moved_factor)} * moved_kn,
                                                     drift_kn)) AS drift_kn),
            CAST(floor(lat / {dlat}) AS BIGINT) AS r
        FROM g LEFT JOIN moved USING (mmsi, track)
    )
    SELECT CAST(dense_rank() OVER (ORDER BY mmsi, track) AS INTEGER) AS vid,
        mmsi, track, k, lat, lon, speed_kn, cos(radians(lat)) AS coslat, r,
        CAST(floor(lon / {_cell_lon_deg(cfg, 'r')}) AS BIGINT) AS c,
        -- how far the vessel may be from this estimate: drift at its speed (at most the
        -- rule's median speed) for the time to its nearest fix beyond half a slot, capped
        least({_dbl(mc.max_fix_allowance_m)}, least({_dbl(mc.max_median_speed_kn)}, drift_kn)
              * 1852e0 * greatest(0, fix_ms - {step_ms / 2!r}) / 3.6e6) AS allowance_m
    FROM cells
    """


def _holds_sql(step_ms: int, slow: str) -> str:
    """SQL for the slots of the stops seen at one end of a ping pair (rows of ``q``).

    A pair longer than a slot whose first fix is slow (SOG below ``slow``) and whose second
    is under way is a departure: the vessel was at its first fix until it had to leave to
    reach the second at the speed it reported there (``t1 - distance / sog1``), and is held
    there. An arrival is the mirror: held at the second fix from ``t0 + distance / sog0``.
    A satellite reporter heard 40-100 minutes apart would otherwise lose up to an interval
    at each end of its stop (the pairs into and out of it are not slow); a pair of pings
    no longer than a slot (dense reporting) adds nothing. Pairs without SOG at both ends, or
    whose speed could not have covered the distance, hold nothing.
    """
    go_ms = "hav_km(lat0, lon0, lat1, lon1) / 1.852e0 / {v} * 3.6e6"
    return f"""
        SELECT mmsi, track, k, lat0 AS lat, lon0 AS lon, sog0 AS speed_kn,
            k * {step_ms} - t0 AS fix_ms, sog0 AS drift_kn
        FROM (SELECT *, unnest(range(CAST(ceil(t0 / {step_ms}) AS BIGINT),
                CAST(floor((t1 - {go_ms.format(v="sog1")}) / {step_ms}) AS BIGINT) + 1)) AS k
              FROM q WHERE t1 - t0 > {step_ms} AND sog0 < {slow} AND sog1 >= {slow}
                       AND (sog0 + sog1) / 2 >= {slow})
        UNION ALL
        SELECT mmsi, track, k, lat1, lon1, sog1, t1 - k * {step_ms}, sog1
        FROM (SELECT *, unnest(range(
                CAST(ceil((t0 + {go_ms.format(v="sog0")}) / {step_ms}) AS BIGINT),
                CAST(floor(t1 / {step_ms}) AS BIGINT) + 1)) AS k
              FROM q WHERE t1 - t0 > {step_ms} AND sog1 < {slow} AND sog0 >= {slow}
                       AND (sog0 + sog1) / 2 >= {slow})"""


def _may_be_slow(tracks: pd.DataFrame, slow: str) -> str:
    """SQL keeping only tracks with a ping slower than ``slow`` or without SOG.

    A slot is made from two consecutive pings whose mean SOG is below ``slow`` (or, lacking
    SOG, their implied speed): a track whose pings all report SOG >= ``slow`` makes none, so
    its pings need not be resampled at all (most ships under way).
    """
    if "sog" not in tracks.columns:
        return ""
    return f"""SEMI JOIN (SELECT DISTINCT mmsi, track FROM pings
                          WHERE sog IS NULL OR sog < {slow}) USING (mmsi, track)"""


def _cell_lat_deg(cfg: Config) -> float:
    return cfg.meetup.max_distance_m * _CELL_MARGIN / _M_PER_DEG_LAT


def _cell_lon_deg(cfg: Config, row: str) -> str:
    """SQL for the longitude width of the cells of grid row ``row``.

    Wide enough at the poleward edge of rows row-1..row+1, so that a point within range of
    a point of this row is at most one cell away when both are indexed at this row's width.
    """
    dlat = _dbl(_cell_lat_deg(cfg))
    # up to the pole itself: there the width passes 360 degrees and the row is one or two
    # cells (floor(lon / width) is -1 or 0), so every pair of the row is compared
    return (f"({dlat} / greatest(1e-9, cos(radians(least(90e0, greatest(abs(({row} - 1) "
            f"* {dlat}), abs(({row} + 2) * {dlat})))))))")


def _close_sql(cfg: Config) -> str:
    """Pairs of slots of different MMSIs, same instant, within max_distance_m.

    Each slot stays in its cell ("home") and is copied into half of its neighbourhood: its
    own cell, the cell east of it and the three cells of the row south of it (indexed at that
    row's width). Every pair of neighbouring cells then meets exactly once; pairs inside one
    cell are kept in one orientation (home vid < copy vid).
    """
    d_m = _dbl(cfg.meetup.max_distance_m)
    near_deg2 = _dbl((cfg.meetup.max_distance_m * 1.01 / _M_PER_DEG_LAT) ** 2)
    return f"""
    CREATE TEMP TABLE close AS
    WITH spread AS (
        SELECT vid, mmsi, k, lat, lon, speed_kn, allowance_m, dy = 0 AND dx = 0 AS own,
            r + dy AS r, CAST(floor(lon / {_cell_lon_deg(cfg, '(r + dy)')}) AS BIGINT) + dx AS c
        FROM slots, (VALUES (0, 0), (0, 1), (-1, -1), (-1, 0), (-1, 1)) AS o(dy, dx)
    ),
    near AS (
        SELECT h.vid AS hv, o.vid AS ov, h.k AS k,
            1000 * hav_km(h.lat, h.lon, o.lat, o.lon) AS distance_m,
            (h.lat + o.lat) / 2 AS lat, (h.lon + o.lon) / 2 AS lon,
            h.speed_kn AS h_speed, o.speed_kn AS o_speed,
            h.allowance_m + o.allowance_m AS slack_m
        FROM slots h JOIN spread o
          ON h.k = o.k AND h.r = o.r AND h.c = o.c
         AND h.mmsi <> o.mmsi AND (NOT o.own OR h.vid < o.vid)
        -- a cheap flat-earth test (1 % margin) first; the great-circle distance decides
        -- (and alone near the poles, where two points can be close across the pole)
        WHERE CASE WHEN abs(h.lat) > 89 OR pow(h.lat - o.lat, 2)
                        + pow((h.lon - o.lon) * h.coslat, 2) <= {near_deg2}
                   THEN 1000 * hav_km(h.lat, h.lon, o.lat, o.lon) <= {d_m} ELSE false END
    )
    {_PAIRS_SELECT.format(near="near", cap=_dbl(cfg.meetup.max_fix_allowance_m))}
    """


#: The close table's rows from a table of slot pairs (home vid hv, other vid ov).
_PAIRS_SELECT = """
    SELECT CAST(least(hv, ov) AS BIGINT) * {pair_base} + greatest(hv, ov) AS pair, k,
        distance_m, lat, lon,
        CASE WHEN hv < ov THEN h_speed ELSE o_speed END AS speed_kn,
        CASE WHEN hv < ov THEN o_speed ELSE h_speed END AS other_speed_kn,
        least({cap}, slack_m) AS slack_m
    FROM {near}""".replace("{pair_base}", str(_PAIR_BASE))

def _uncertain_close_sql(cfg: Config) -> tuple[str, str]:
    """Two statements for the slots judged on uncertain estimates (satellite reporters
    between fixes, ``allowance_m > 0``), run only when there are any.

    1. ``loose``: slots beyond max_distance_m but within it plus the pair's allowance
       (capped at max_fix_allowance_m), of the pairs that can be anchored (below): those
       with a sure moment within max_distance_m in the close table, one of whose vessels has
       an uncertain slot. Their slots are paired by track and instant, no grid needed; pairs
       within max_distance_m are already :func:`_close_sql`'s, so none is counted twice.
    2. The close table again: a slot of a pair judged with an allowance (a loose one, or a
       close one whose estimates are uncertain) takes the verdict of the pair's *sure
       moments* (its allowance at most ``fix_anchor_m``: both vessels near a real fix)
       nearest to it on each side, within its stretch of consecutive slots within reach: it
       counts when those were within max_distance_m (one side is enough where the stretch
       has none on the other; none at all, it does not count). Two satellite reporters
       drifting 800 m apart are within reach whenever both are an hour from a fix, and close
       on their estimates now and then (drifting in loops, their positions between fixes
       are a guess), but their fixes, when they fall close in time, show them apart. Slots
       judged without an allowance (dense reporting) count as before.
    """
    mc = cfg.meetup
    d_m = _dbl(mc.max_distance_m)
    cap = _dbl(mc.max_fix_allowance_m)
    sure = f"slack_m <= {_dbl(mc.fix_anchor_m)}"
    loose = f"""
    CREATE TEMP TABLE loose AS
    WITH unsure AS (SELECT vid, k FROM slots WHERE allowance_m > 0),
    pairs AS (
        SELECT DISTINCT pair, pair // {_PAIR_BASE} AS hv, pair % {_PAIR_BASE} AS ov
        FROM close WHERE {sure}
    ),
    -- driven by the few uncertain slots, each side's slot looked up by (vessel, instant) in
    -- turn (materialised: left to itself the planner joined every slot with every slot of
    -- the same instant first, 16 s on 30 days of 1,000 vessels)
    keys AS MATERIALIZED (  -- the instants those pairs have an uncertain estimate at
        SELECT p.hv, p.ov, u.k FROM pairs p JOIN unsure u ON u.vid = p.hv
        UNION
        SELECT p.hv, p.ov, u.k FROM pairs p JOIN unsure u ON u.vid = p.ov
    ),
    hside AS MATERIALIZED (
        SELECT x.hv, x.ov, x.k, h.lat, h.lon, h.speed_kn, h.allowance_m
        FROM keys x JOIN slots h ON h.vid = x.hv AND h.k = x.k
    ),
    near AS (
        SELECT h.hv, h.ov, h.k, 1000 * hav_km(h.lat, h.lon, o.lat, o.lon) AS distance_m,
            (h.lat + o.lat) / 2 AS lat, (h.lon + o.lon) / 2 AS lon,
            h.speed_kn AS h_speed, o.speed_kn AS o_speed,
            h.allowance_m + o.allowance_m AS slack_m
        FROM hside h JOIN slots o ON o.vid = h.ov AND o.k = h.k
        WHERE h.allowance_m + o.allowance_m > 0
    )
    {_PAIRS_SELECT.format(near="near", cap=cap)}
    WHERE distance_m > {d_m} AND distance_m <= {d_m} + least({cap}, slack_m)
    """
    anchored = f"""
    CREATE OR REPLACE TEMP TABLE close AS
    WITH doubtful AS (  -- pairs with a slot judged on an uncertain estimate
        SELECT DISTINCT pair FROM loose UNION SELECT DISTINCT pair FROM close WHERE slack_m > 0
    ),
    both_ AS (
        SELECT * FROM close SEMI JOIN doubtful USING (pair)
        UNION ALL
        SELECT * FROM loose
    ),
    numbered AS (  -- consecutive slots of a pair share k - row_number()
        SELECT *, k - row_number() OVER (PARTITION BY pair ORDER BY k) AS stretch FROM both_
    ),
    verdicts AS (  -- the nearest sure moment's verdict on each side (itself included)
        SELECT *,
            last_value(CASE WHEN {sure} THEN distance_m <= {d_m} END IGNORE NULLS) OVER (
                PARTITION BY pair, stretch ORDER BY k
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS before_ok,
            first_value(CASE WHEN {sure} THEN distance_m <= {d_m} END IGNORE NULLS) OVER (
                PARTITION BY pair, stretch ORDER BY k
                ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS after_ok
        FROM numbered
    )
    SELECT * FROM close ANTI JOIN doubtful USING (pair)
    UNION ALL
    SELECT * EXCLUDE (stretch, before_ok, after_ok) FROM verdicts
    WHERE slack_m = 0 OR (coalesce(before_ok, after_ok) AND coalesce(after_ok, before_ok))
    """
    return loose, anchored


def _meetings_sql(cfg: Config) -> str:
    mc = cfg.meetup
    step_ms = int(round(mc.resample_min * 60_000))
    # a new meeting starts after a gap of `width` slots or more (no close slot in between):
    # runs separated by less than merge_gap_h merge (consecutive slots always do)
    width = max(2, math.ceil(mc.merge_gap_h * 3_600_000 / step_ms - 1e-9))
    min_ms = _dbl(mc.min_duration_h * 3_600_000)
    local_h = f"(k * {step_ms} / 3.6e6 + lon / 15e0)"
    return f"""
    CREATE TEMP TABLE meetings AS
    WITH blocks AS (  -- within a block of {width} slots no gap can split a meeting
        SELECT pair, k // {width} AS blk, min(k) AS k_lo, max(k) AS k_hi
        FROM close GROUP BY pair, blk
    ),
    marked AS (
        SELECT pair, blk,
            CASE WHEN k_lo - lag(k_hi) OVER w >= {width} THEN 1 ELSE 0 END AS new
        FROM blocks
        WINDOW w AS (PARTITION BY pair ORDER BY blk)
    ),
    numbered AS (
        SELECT pair, blk,
            sum(new) OVER (PARTITION BY pair ORDER BY blk ROWS UNBOUNDED PRECEDING) AS meeting
        FROM marked
    ),
    grouped AS (
        SELECT c.*, n.meeting
        FROM close c JOIN numbered n ON c.pair = n.pair AND c.k // {width} = n.blk
    ),
    m AS (
        SELECT pair, meeting,
            min(k) AS k_start, max(k) AS k_end,
            (max(k) - min(k)) * {step_ms} / 3.6e6 AS duration_h,
            count(*) / (max(k) - min(k) + 1e0) AS close_share,
            median(distance_m) AS median_distance_m, min(distance_m) AS min_distance_m,
            greatest(median(speed_kn), median(other_speed_kn)) AS median_speed_kn,
            median(lat) AS lat, median(lon) AS lon,
            avg(CASE WHEN ({local_h} % 24 + 24) % 24 >= 18
                       OR ({local_h} % 24 + 24) % 24 < 6 THEN 1e0 ELSE 0e0 END) AS night_share
        FROM grouped
        GROUP BY pair, meeting
        HAVING (max(k) - min(k)) * {step_ms} >= {min_ms}
    ),
    v AS (SELECT DISTINCT vid, mmsi, track FROM slots)
    SELECT a.mmsi, a.track, b.mmsi AS other_mmsi, b.track AS other_track, m.*
    FROM m JOIN v a ON a.vid = m.pair // {_PAIR_BASE}
           JOIN v b ON b.vid = m.pair % {_PAIR_BASE}
    """


def _dark_sql(cfg: Config, tracks: pd.DataFrame) -> str:
    """Meetings where either track has a gap >= min_gap_h near or during the meeting."""
    step_ms = int(round(cfg.meetup.resample_min * 60_000))
    window_ms = _dbl(cfg.meetup.dark_window_h * 3_600_000)
    if "gap_before_h" not in tracks.columns:
        return "SELECT mmsi, track, other_mmsi, other_track, meeting FROM meetings WHERE false"
    return f"""
    WITH gaps AS (
        SELECT mmsi, track, epoch_ms(timestamp) - gap_before_h * 3.6e6 AS g0,
            epoch_ms(timestamp) AS g1
        FROM pings WHERE gap_before_h >= {_dbl(cfg.dark_period.min_gap_h)}
    ),
    sides AS (
        SELECT mmsi AS m, track AS t, * FROM meetings
        UNION ALL
        SELECT other_mmsi AS m, other_track AS t, * FROM meetings
    )
    SELECT DISTINCT s.mmsi, s.track, s.other_mmsi, s.other_track, s.meeting
    FROM sides s JOIN gaps g ON g.mmsi = s.m AND g.track = s.t
    WHERE g.g1 >= s.k_start * {step_ms} - {window_ms}
      AND g.g0 <= s.k_end * {step_ms} + {window_ms}
    """


def _vessels_sql(tracks: pd.DataFrame) -> str:
    """Most common name and vessel class of each track that takes part in a meeting."""
    def most_common(expr: str) -> str:  # a tie goes to the smallest value, on every run
        return f"mode({expr} ORDER BY {expr})"

    if "vessel_class" in tracks.columns:
        vclass = most_common("vessel_class")
    elif "ship_type" in tracks.columns:
        from ais.inputs.ingest import _VESSEL_CLASS  # same classes as ingest gives
        vclass = most_common(_VESSEL_CLASS)
    else:
        vclass = "'unknown'"
    name = most_common("name") if "name" in tracks.columns else "CAST(NULL AS VARCHAR)"
    return f"""
    WITH who AS (
        SELECT mmsi, track FROM meetings UNION SELECT other_mmsi, other_track FROM meetings
    )
    SELECT p.mmsi, p.track, {name} AS name, {vclass} AS vessel_class
    FROM pings p SEMI JOIN who ON p.mmsi = who.mmsi AND p.track = who.track
    GROUP BY p.mmsi, p.track
    """


def _empty() -> pd.DataFrame:
    out = conform(pd.DataFrame(), "meetup", FEATURES)
    out["other_track"] = pd.Series(dtype="Int64")
    for col in ANNOTATIONS[1:]:
        out[col] = pd.Series(dtype="str")
    return out


def _meetings(tracks: pd.DataFrame, cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(meetings, vessel info, last input instant in ms) from DuckDB."""
    cols = [c for c in (*REQUIRED_COLUMNS, "sog", "gap_before_h", "name", "vessel_class",
                        "ship_type") if c in tracks.columns]
    con = connect()
    try:
        con.register("pings", tracks[cols])
        con.execute(_slots_sql(cfg, tracks))
        con.execute(_close_sql(cfg))
        if cfg.meetup.max_fix_allowance_m > 0 and (con.execute(
                "SELECT count(*) FROM slots WHERE allowance_m > 0").fetchone() or [0])[0]:
            for sql in _uncertain_close_sql(cfg):
                con.execute(sql)
        con.execute(_meetings_sql(cfg))
        meetings = con.execute(f"""
            SELECT m.*, d.meeting IS NOT NULL AS dark
            FROM meetings m LEFT JOIN ({_dark_sql(cfg, tracks)}) d
              USING (mmsi, track, other_mmsi, other_track, meeting)
            ORDER BY mmsi, other_mmsi, k_start, track, other_track
        """).df().drop(columns=["pair"])
        vessels = con.execute(_vessels_sql(tracks)).df() if len(meetings) else pd.DataFrame(
            columns=["mmsi", "track", "name", "vessel_class"])
        t_end = (con.execute("SELECT max(epoch_ms(timestamp)) FROM pings").fetchone() or [0])[0]
    finally:
        con.close()
    return meetings, vessels, int(t_end or 0)


def detect(tracks: pd.DataFrame, cfg: Config, window: DataWindow | None = None
           ) -> pd.DataFrame:
    """Meetups of two vessels as candidate events (see the module docstring).

    Args:
        tracks: output of :func:`ais.tracking.tracks.build_tracks`; not modified.
        cfg: thresholds in ``cfg.meetup``, places in ``cfg.places``.
        window: the time span of the whole scan (:func:`ais.tracking.coverage.data_window`):
            a meeting is open when it lasts until its end; a partition of a larger scan
            passes the whole's (by default, the span of ``tracks``).

    Returns:
        The events schema plus :data:`FEATURES` and :data:`ANNOTATIONS`, one row per
        meeting, ordered by (mmsi, other_mmsi, start_time).
    """
    _check(tracks)
    if tracks.empty:
        return _empty()
    meetings, vessels, t_end_ms = _meetings(tracks, cfg)
    if meetings.empty:
        return _empty()
    if window is not None:
        t_end_ms = max(t_end_ms, window.end_us // 1000)
    mc = cfg.meetup
    step_ms = int(round(mc.resample_min * 60_000))
    ev = meetings.drop(columns=["meeting"])
    ev["start_time"] = pd.to_datetime(ev.pop("k_start") * step_ms, unit="ms", utc=True)
    ev["end_time"] = pd.to_datetime(ev.pop("k_end") * step_ms, unit="ms", utc=True)
    ev["is_open"] = (ev["end_time"] + pd.Timedelta(milliseconds=step_ms)
                     >= pd.Timestamp(t_end_ms, unit="ms", tz="UTC"))
    ev["dark_before_after"] = ev.pop("dark").astype(float)

    info = vessels.set_index(["mmsi", "track"])
    for side, prefix in ((("mmsi", "track"), ""), (("other_mmsi", "other_track"), "other_")):
        keys = pd.MultiIndex.from_arrays([ev[side[0]], ev[side[1]]])
        ev[f"{prefix}name"] = info["name"].reindex(keys).to_numpy()
        ev[f"{prefix}vessel_class"] = (info["vessel_class"].reindex(keys).fillna("unknown")
                                       .to_numpy())
        flags = flag_of(ev[side[0]])
        ev[f"{prefix}flag_iso2"] = flags["flag_iso2"].to_numpy()
        ev[f"_{prefix}mid"] = flags["mid"].to_numpy()
    ev["flags_differ"] = (ev["flag_iso2"].fillna("") != ev["other_flag_iso2"].fillna("")
                          ).astype(float)
    ev["either_dprk"] = ((ev.pop("_mid") == DPRK_MID).fillna(False)
                         | (ev.pop("_other_mid") == DPRK_MID).fillna(False)).astype(float)
    tug = (ev["vessel_class"].isin(TUG_PILOT) | ev["other_vessel_class"].isin(TUG_PILOT))
    ev["tug_or_pilot"] = tug.astype(float)

    lat, lon = ev["lat"].to_numpy(float), ev["lon"].to_numpy(float)
    _, port_km, in_port = nearest_port(lat, lon, cfg)
    anch_name, anch_km, in_anch = nearest_place(lat, lon, cfg.places, ("anchorage",))
    _, sts_km, _ = nearest_place(lat, lon, cfg.places, ("sts_site",))
    for col, km in (("distance_to_port_km", port_km), ("distance_to_anchorage_km", anch_km),
                    ("distance_to_sts_site_km", sts_km)):
        ev[col] = np.where(np.isfinite(km), km, np.nan)
    ev["in_port"] = in_port.astype(float)
    ev["in_anchorage"] = in_anch.astype(float)

    port_zone = in_port | (port_km < mc.rule_min_port_km)  # inf (no port) is never near
    fleet = ((ev["vessel_class"] == "fishing") & (ev["other_vessel_class"] == "fishing")
             ).to_numpy()
    ev["passes_rule"] = (
        (ev["duration_h"] >= mc.rule_min_duration_h)
        & (ev["median_speed_kn"] < mc.max_median_speed_kn)
        & ~port_zone & ~in_anch & ~tug.to_numpy() & ~fleet
    )
    ev["context"] = np.select(
        [tug.to_numpy() & port_zone, in_anch, port_zone, fleet],
        ["tug/pilot work in port", "anchorage: " + pd.Series(anch_name, dtype=str),
         "inside port zone", "fishing vessels working together"],
        default="at sea",
    )
    ev["other_track"] = ev["other_track"].astype("Int64")
    rest = [c for c in ev.columns if c not in FEATURES and c not in ANNOTATIONS]
    ordered = rest + list(FEATURES) + list(ANNOTATIONS)
    return conform(ev[ordered], "meetup", FEATURES)


#: How a partition's halo serves this detector (:mod:`ais.runtime.halo`): the vessels in
#: it take part in the meetings (each one's whole pings), and a partition reports the
#: meetings whose ``mmsi`` (the smaller) is its own.
HALO = "vessels"


def halo_boxes(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Where each vessel's slots may lie, as boxes per time bin, widened by the reach of a
    meeting: ``mmsi, bin, lat0, lat1, lon0, lon1``. Two vessels can meet only when boxes of
    theirs overlap in one bin, so a partition of whole vessels together with every vessel
    whose box overlaps one of its own (:func:`ais.runtime.halo.vessels`) finds, for its
    own vessels, the meetings of the whole scan.

    A slot lies between two pings of its track at most the longest interpolated silence
    apart (``max_interpolation_gap_h``, or a sparse reporter's cadence, at most
    :data:`MAX_CADENCE_GAP_H`): with bins that long, a slot of bin ``i`` lies in the box of
    the track's pings of bins ``i - 1`` to ``i + 1``. Only tracks that may be slow make slots.
    The boxes are widened by ``max_distance_m`` and twice ``max_fix_allowance_m`` (degrees
    of longitude at the box's poleward edge)."""
    cols = ["mmsi", "bin", "lat0", "lat1", "lon0", "lon1"]
    if tracks.empty:
        return pd.DataFrame(columns=cols)
    mc = cfg.meetup
    bin_ms = int(max(mc.max_interpolation_gap_h, MAX_CADENCE_GAP_H) * 3_600_000)
    pad_deg = (mc.max_distance_m + 2 * mc.max_fix_allowance_m) * 1.05 / 1000 / KM_PER_DEG
    slow = _dbl(candidate_speed_kn(cfg))
    use = [c for c in ("mmsi", "track", "timestamp", "lat", "lon", "sog") if c in tracks.columns]
    con = connect()
    try:
        con.register("pings", tracks[use])
        return con.execute(f"""
            WITH per_bin AS (
                SELECT mmsi, track, floor(epoch_ms(timestamp) / {bin_ms})::BIGINT AS b,
                       min(lat) AS lat0, max(lat) AS lat1, min(lon) AS lon0, max(lon) AS lon1
                FROM pings {_may_be_slow(tracks, slow)}
                WHERE lat IS NOT NULL AND lon IS NOT NULL AND timestamp IS NOT NULL
                GROUP BY ALL
            ),
            spread AS (  -- a vessel's box of bin i: its pings of bins i - 1 .. i + 1
                SELECT mmsi, b + d AS bin, min(lat0) AS lat0, max(lat1) AS lat1,
                       min(lon0) AS lon0, max(lon1) AS lon1
                FROM per_bin, range(-1, 2) r(d) GROUP BY mmsi, b + d
            )
            SELECT mmsi, bin, lat0 - {pad_deg} AS lat0, lat1 + {pad_deg} AS lat1,
                   lon0 - {pad_deg} / w AS lon0, lon1 + {pad_deg} / w AS lon1
            FROM (SELECT *, greatest(cos(radians(least(89.0, greatest(abs(lat0), abs(lat1))
                                                       + {pad_deg}))), 1e-3) AS w
                  FROM spread)
            ORDER BY mmsi, bin
        """).df()
    finally:
        con.close()


def reason(ev: pd.Series) -> str:
    """One sentence for a meetup row: what happened, with numbers and units."""
    other = str(ev.get("other_mmsi", ""))
    who = ev.get("other_name")
    flag = ev.get("other_flag_iso2")
    partner = other + (f" ({who}" if isinstance(who, str) and who else " (") + (
        f", {flag})" if isinstance(flag, str) and flag else ")")
    partner = partner.replace(" ()", "")
    dark = "; a vessel went dark just before or after" if ev.get("dark_before_after") == 1 \
        else ""
    return (f"Alongside {partner} for {num(ev['duration_h'])} h at "
            f"{num(ev.get('median_distance_m'), 0)} m median distance and "
            f"{num(ev.get('median_speed_kn'))} kn, {where(ev)}{dark}")


def decisive(events: pd.DataFrame, cfg: Config) -> np.ndarray:
    """A meetup with a DPRK vessel is flagged on its rule alone (see ScoringConfig)."""
    return (events.get("either_dprk", pd.Series(0.0, index=events.index)) == 1).to_numpy()
