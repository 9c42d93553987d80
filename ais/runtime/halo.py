"""Halos: the pings of other partitions that a partition's detector reads.

A detector whose events each belong to one vessel but whose evidence comes from the others
declares its reach, and a partition of whole vessels given what lies in that reach answers,
for its own vessels, as the whole scan does (``tests/test_cluster.py``):

* the dark periods (who else was heard near a silence, and when): the places and times
  they read (``halo_places``), how far around them (``halo_km``), and what they read there
  (``halo_evidence``: the other vessels' grouped reports): :func:`rows`;
* the meetups (a meeting's other vessel takes part whole): boxes per time bin where each
  vessel's slots may lie (``halo_boxes``): :func:`vessels`.

:func:`rows` finds those points without comparing all pairs: the places are put in a grid of
cells at least ``radius_km`` wide (longitude cells widened by 1/cos of the row's poleward
edge, as the detectors' own grids), spread to the 3x3 cells around them, their time spans
merged per partition and cell, and the pings joined to them by hash on the cell and a range
on the time. The halo is a superset of what the detector reads: it may hold pings a little
farther than the radius (the cell corners), never fewer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ais.db import connect
from ais.geography.geo import KM_PER_DEG


def rows(points: pd.DataFrame, part: np.ndarray, n: int, places: pd.DataFrame,
         radius_km: float) -> list[np.ndarray]:
    """For each partition ``k`` in ``0..n-1`` (``part``: each point's partition, whole
    vessels), the sorted row positions of ``points`` (``mmsi, t_us, lat, lon``: pings, or
    reports) in other partitions lying within about ``radius_km`` of a place of ``places``
    (``mmsi, lat, lon, lo_us, hi_us``) of one of its vessels, at a time within that place's
    ``[lo_us, hi_us]``. ``places`` may say each place's partition (``k``): then the points
    may be any part of the whole's (the rows of a part's points are those of the whole's in
    that part), else the places' vessels are looked up among the points'."""
    empty = [np.empty(0, np.int64) for _ in range(n)]
    if points.empty or places.empty:
        return empty
    if "k" in places.columns:
        of_vessel = places[["mmsi", "k"]].drop_duplicates("mmsi")
    else:
        of_vessel = pd.DataFrame({"mmsi": points["mmsi"].to_numpy(np.int64),
                                  "k": part.astype(np.int64)}).drop_duplicates("mmsi")
    cd = radius_km / KM_PER_DEG  # cell height in degrees
    scale = ("greatest(cos(radians(least(90.0, greatest(abs(({y}) * {cd}), "
             "abs((({y}) + 1) * {cd}))))), 1e-6)")
    cy = f"floor(lat / {cd})::BIGINT"
    con = connect()
    try:
        con.register("pings", pa.table({
            "row": np.arange(len(points), dtype=np.int64), "k": part.astype(np.int64),
            "t_us": points["t_us"].to_numpy(),
            "lat": points["lat"].to_numpy(float), "lon": points["lon"].to_numpy(float)}))
        con.register("places", places[["mmsi", "lat", "lon", "lo_us", "hi_us"]])
        con.register("vessels", of_vessel)
        found = con.execute(f"""
            WITH pts AS (
                SELECT v.k, p.lat, p.lon, p.lo_us, p.hi_us, {cy} AS cy
                FROM places p JOIN vessels v USING (mmsi)
                WHERE p.lat IS NOT NULL AND p.lon IS NOT NULL
            ),
            cells AS (
                SELECT DISTINCT k, cy + dy AS cy,
                       floor(lon * {scale.format(y='cy + dy', cd=cd)} / {cd})::BIGINT + dx
                           AS cx, lo_us, hi_us
                FROM pts, range(-1, 2) r1(dy), range(-1, 2) r2(dx)
            ),
            -- overlapping spans of one partition in one cell become one
            marked AS (
                SELECT *, CASE WHEN lo_us <= max(hi_us) OVER (
                                   PARTITION BY k, cy, cx ORDER BY lo_us, hi_us
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                               THEN 0 ELSE 1 END AS fresh
                FROM cells
            ),
            runs AS (
                SELECT *, sum(fresh) OVER (PARTITION BY k, cy, cx ORDER BY lo_us, hi_us
                                           ROWS UNBOUNDED PRECEDING) AS run
                FROM marked
            ),
            spans AS (
                SELECT k, cy, cx, min(lo_us) AS lo_us, max(hi_us) AS hi_us
                FROM runs GROUP BY k, cy, cx, run
            ),
            pc AS (
                SELECT row, k AS own, t_us, cy, floor(lon * {scale.format(y='cy', cd=cd)}
                                                      / {cd})::BIGINT AS cx
                FROM (SELECT *, {cy} AS cy FROM pings)
            )
            SELECT DISTINCT s.k, pc.row
            FROM pc JOIN spans s ON pc.cy = s.cy AND pc.cx = s.cx
             AND pc.t_us >= s.lo_us AND pc.t_us <= s.hi_us
            WHERE pc.own <> s.k
            ORDER BY s.k, pc.row
        """).fetchnumpy()
    finally:
        con.close()
    k = np.asarray(found["k"], np.int64)
    row = np.asarray(found["row"], np.int64)
    bounds = np.searchsorted(k, np.arange(n + 1))
    return [row[bounds[i]:bounds[i + 1]] for i in range(n)]


#: Grid of :func:`vessels`, in degrees: boxes are matched by the cells they cover, but
#: a box of more than :data:`BIG_BOX_CELLS` (a vessel whose positions jump) against every
#: box of its time bin.
BOX_CELL_DEG = 0.1
BIG_BOX_CELLS = 256


def vessels(of_vessel: pd.DataFrame, n: int, boxes: pd.DataFrame) -> list[np.ndarray]:
    """For each partition ``k`` in ``0..n-1`` (``of_vessel``: ``mmsi, k``, each vessel's
    partition), the MMSIs (ascending) of the vessels of other partitions that have a box of
    ``boxes`` (``mmsi, bin, lat0, lat1, lon0, lon1``) overlapping a box of one of its own
    vessels in the same bin.

    Boxes are matched through the cells of a :data:`BOX_CELL_DEG` grid they cover (a hash
    join on bin and cell), then exactly; the few big ones by bin alone."""
    empty = [np.empty(0, np.int64) for _ in range(n)]
    if of_vessel.empty or boxes.empty:
        return empty
    c = BOX_CELL_DEG
    con = connect()
    try:
        con.register("boxes", boxes[["mmsi", "bin", "lat0", "lat1", "lon0", "lon1"]])
        con.register("vessels", of_vessel[["mmsi", "k"]])
        overlap = ("a.k <> o.k AND a.lat0 <= o.lat1 AND o.lat0 <= a.lat1 "
                   "AND a.lon0 <= o.lon1 AND o.lon0 <= a.lon1")
        found = con.execute(f"""
            CREATE TEMP TABLE b AS
            SELECT v.k, x.*, (floor(x.lat1 / {c}) - floor(x.lat0 / {c}) + 1)
                             * (floor(x.lon1 / {c}) - floor(x.lon0 / {c}) + 1) > {BIG_BOX_CELLS}
                             AS big
            FROM boxes x JOIN vessels v USING (mmsi);
            WITH ys AS (
                SELECT *, unnest(range(floor(lat0 / {c})::BIGINT,
                                       floor(lat1 / {c})::BIGINT + 1)) AS cy
                FROM b WHERE NOT big
            ),
            cells AS (
                SELECT *, unnest(range(floor(lon0 / {c})::BIGINT,
                                       floor(lon1 / {c})::BIGINT + 1)) AS cx FROM ys
            )
            SELECT a.k, o.mmsi FROM cells a JOIN cells o
              ON a.bin = o.bin AND a.cy = o.cy AND a.cx = o.cx AND {overlap}
            UNION  -- a box too big for cells (a jump of positions) meets every box of its bin
            SELECT a.k, o.mmsi FROM b a JOIN b o ON a.bin = o.bin AND (a.big OR o.big)
             AND {overlap}
            ORDER BY 1, 2
        """).fetchnumpy()
    finally:
        con.close()
    k = np.asarray(found["k"], np.int64)
    mmsi = np.asarray(found["mmsi"], np.int64)
    bounds = np.searchsorted(k, np.arange(n + 1))
    return [mmsi[bounds[i]:bounds[i + 1]] for i in range(n)]
