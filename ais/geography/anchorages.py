"""Anchorages learned from traffic: where many distinct vessels sit still.

GFW learns its 160 k anchorages this way (S2 cells where at least 20 distinct vessels were
stationary over years). Our rule, for days of data instead of years: a grid cell of
``[ports] anchorage_cell_deg`` degrees (0.01, about 1.1 km north-south) is an anchorage when
at least ``anchorage_min_vessels`` (4) distinct MMSIs each reported at least
``anchorage_min_pings`` (3) pings there slower than ``stationary_kn`` (0.5 kn). Two vessels
lying together are a meeting, not an anchorage, so a pair never makes one. Cells inside a
configured ship-to-ship transfer site (``kind = "sts_site"``) are never learned: there many
ships sitting still is what analysts look for.

``ais train`` learns them from its baseline and writes :data:`FILE` beside the models (CSV
with the counts and the rule; never a pickle); a scan uses the stored ones and learns from its
own data too. An event whose position lies in an anchorage cell is a wait
(:mod:`ais.judging.waits`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import connect
from ais.errors import ModelError
from ais.geography.geo import nearest_place
from ais.tracking.tracks import epoch_ns

FILE = "anchorages.csv"
COLUMNS = ("cell_lat", "cell_lon", "lat", "lon", "vessels", "pings", "cell_deg", "rule")


def empty() -> pd.DataFrame:
    """A zero-row anchorage table."""
    return pd.DataFrame({c: pd.Series(dtype="str" if c == "rule" else
                                      ("int64" if c.startswith(("cell_l", "vessels", "pings"))
                                       else "float64")) for c in COLUMNS})


def rule_text(cfg: Config) -> str:
    """The rule as a sentence stored with every learned anchorage."""
    p = cfg.ports
    return (f">= {p.anchorage_min_vessels} distinct MMSIs each with >= "
            f"{p.anchorage_min_pings} pings < {p.stationary_kn:g} kn in a "
            f"{p.anchorage_cell_deg:g} deg cell")


#: Columns of :func:`still`: per vessel and cell, its stationary pings (count, sums of their
#: positions, the last one's time), what :func:`learn_from_still` counts.
STILL_COLUMNS = ("mmsi", "cell_lat", "cell_lon", "n", "slat", "slon", "last_seen")


def still(tracks: pd.DataFrame, cfg: Config, since: pd.Timestamp | None = None
          ) -> pd.DataFrame:
    """Each vessel's stationary pings per cell (:data:`STILL_COLUMNS`), at or after
    ``since`` when given: sums, so the tables of several nights add up to the table of
    their whole span (:func:`add_still`), and a night scanned in windows learns the
    anchorages one scan of the night would."""
    if tracks.empty or "sog" not in tracks.columns:
        return _no_still()
    p = cfg.ports
    frame = pd.DataFrame({"mmsi": tracks["mmsi"].to_numpy(np.int64),
                          "t": epoch_ns(tracks["timestamp"]),
                          "lat": tracks["lat"].to_numpy(float),
                          "lon": tracks["lon"].to_numpy(float),
                          "sog": pd.to_numeric(tracks["sog"], errors="coerce").to_numpy(float)})
    if since is not None:  # "t": nanoseconds since 1970 UTC
        frame = frame[frame["t"] >= pd.Timestamp(since).as_unit("ns").value]
    con = connect()
    try:
        con.register("pings", frame)
        out = con.execute(f"""
            SELECT mmsi, CAST(floor(lat / {p.anchorage_cell_deg}) AS BIGINT) AS cell_lat,
                   CAST(floor(lon / {p.anchorage_cell_deg}) AS BIGINT) AS cell_lon,
                   count(*) AS n, sum(lat) AS slat, sum(lon) AS slon, max(t) AS last_seen
            FROM pings WHERE sog < {p.stationary_kn}
            GROUP BY ALL ORDER BY ALL
        """).df()
    finally:
        con.close()
    out["last_seen"] = pd.to_datetime(out["last_seen"], unit="ns", utc=True)
    return out.astype({"mmsi": "int64", "cell_lat": "int64", "cell_lon": "int64",
                       "n": "int64"})[list(STILL_COLUMNS)]


def _no_still() -> pd.DataFrame:
    """A zero-row :func:`still` table."""
    return pd.DataFrame({c: pd.Series(dtype="datetime64[us, UTC]" if c == "last_seen" else
                                      "float64" if c in ("slat", "slon") else "int64")
                         for c in STILL_COLUMNS})


def add_still(*tables: pd.DataFrame | None) -> pd.DataFrame:
    """The sum of :func:`still` tables (of the same cell size): one row per vessel and cell."""
    found = [t[list(STILL_COLUMNS)] for t in tables if t is not None and len(t)]
    if not found:
        return _no_still()
    both = pd.concat(found, ignore_index=True)
    both["last_seen"] = pd.to_datetime(both["last_seen"], utc=True)
    return (both.groupby(["mmsi", "cell_lat", "cell_lon"], as_index=False, sort=True)
            .agg(n=("n", "sum"), slat=("slat", "sum"), slon=("slon", "sum"),
                 last_seen=("last_seen", "max")))[list(STILL_COLUMNS)]


def learn(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Anchorage cells of ``tracks`` (see the module docstring), one row per cell."""
    return learn_from_still(still(tracks, cfg), cfg)


def learn_from_still(table: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Anchorage cells of a :func:`still` table (see the module docstring)."""
    if table.empty:
        return empty()
    p = cfg.ports
    con = connect()
    try:
        con.register("s", table[["mmsi", "cell_lat", "cell_lon", "n", "slat", "slon"]])
        cells = con.execute(f"""
            WITH still AS (
                SELECT * FROM s WHERE n >= {p.anchorage_min_pings}
            ), around AS (  -- each vessel counts in its cell and the eight around it
                SELECT DISTINCT mmsi, cell_lat + di AS cell_lat, cell_lon + dj AS cell_lon
                FROM still, (SELECT unnest([-1, 0, 1]) AS di), (SELECT unnest([-1, 0, 1]) AS dj)
            ), busy AS (
                SELECT cell_lat, cell_lon, count(*) AS vessels FROM around
                GROUP BY ALL HAVING count(*) >= {p.anchorage_min_vessels}
            )
            SELECT s.cell_lat, s.cell_lon, sum(s.slat) / sum(s.n) AS lat,
                   sum(s.slon) / sum(s.n) AS lon, any_value(b.vessels) AS vessels,
                   sum(s.n) AS pings
            FROM still s JOIN busy b USING (cell_lat, cell_lon)
            GROUP BY s.cell_lat, s.cell_lon
            ORDER BY s.cell_lat, s.cell_lon
        """).df()
    finally:
        con.close()
    if cells.empty:
        return empty()
    _, _, in_sts = nearest_place(cells["lat"].to_numpy(float), cells["lon"].to_numpy(float),
                                 cfg.places, ("sts_site",))
    cells = cells[~in_sts]
    cells = cells.assign(cell_deg=p.anchorage_cell_deg, rule=rule_text(cfg))
    return cells.astype({"cell_lat": "int64", "cell_lon": "int64", "vessels": "int64",
                         "pings": "int64"})[list(COLUMNS)].reset_index(drop=True)


def combine(*tables: pd.DataFrame | None) -> pd.DataFrame:
    """The union of anchorage tables of the same cell size (a cell in several keeps its
    largest vessel count)."""
    found = [t for t in tables if t is not None and len(t)]
    if not found:
        return empty()
    both = pd.concat(found, ignore_index=True).sort_values("vessels", ascending=False)
    return (both.drop_duplicates(["cell_deg", "cell_lat", "cell_lon"])
            .sort_values(["cell_lat", "cell_lon"]).reset_index(drop=True))


def inside(lat: np.ndarray, lon: np.ndarray, anchorages: pd.DataFrame | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """For each point: the vessel count of the anchorage cell it lies in (0 when none), and
    whether there is one."""
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    count = np.zeros(len(lat), dtype=np.int64)
    if anchorages is None or anchorages.empty:
        return count, count > 0
    for deg, cells in anchorages.groupby("cell_deg"):
        keys = pd.Series(cells["vessels"].to_numpy(np.int64),
                         index=cells["cell_lat"].to_numpy(np.int64) * 100_000
                         + cells["cell_lon"].to_numpy(np.int64))
        keys = keys.groupby(level=0).max()
        ok = np.isfinite(lat) & np.isfinite(lon)
        ci = np.floor(np.where(ok, lat, 0) / deg).astype(np.int64)
        cj = np.floor(np.where(ok, lon, 0) / deg).astype(np.int64)
        hit = keys.reindex(ci * 100_000 + cj).fillna(0).to_numpy()
        count = np.maximum(count, np.where(ok, hit, 0).astype(np.int64))
    return count, count > 0


def save(anchorages: pd.DataFrame, models_dir: str | Path) -> Path:
    """Write the table beside the models, atomically."""
    path = Path(models_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
    anchorages[list(COLUMNS)].to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


def load(models_dir: str | Path | None) -> pd.DataFrame:
    """The anchorages stored beside the models (an empty table when there are none).

    Raises:
        ModelError: the file exists but is not a table of learned anchorages.
    """
    if models_dir is None:
        return empty()
    path = Path(models_dir) / FILE
    if not path.exists():
        return empty()
    try:
        table = pd.read_csv(path, dtype={"rule": str})
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"missing columns {missing}")
        return table.astype({"cell_lat": "int64", "cell_lon": "int64", "lat": "float64",
                             "lon": "float64", "vessels": "int64", "pings": "int64",
                             "cell_deg": "float64"})[list(COLUMNS)]
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ModelError(f"{path}: not a table of learned anchorages ({exc}); delete it or "
                         "run `ais train` again") from exc
