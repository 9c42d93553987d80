"""Loitering: one vessel moving very slowly for hours.

Candidates are runs of pings whose centred one-hour median speed is below
``max_speed_kn`` (GFW: hourly mean < 2 kn; the median keeps the run's edges where the speed
changes instead of shaving half an hour off each end, and ignores single speed spikes),
lasting at least ``min_duration_h``, inside one track segment (a silence longer than
``max_gap_h`` ends the run: that is a dark period, not loitering). Speed is the reported
SOG, or the speed implied by the step from the previous ping where SOG is not available.

The rule flags runs of at least ``rule_min_duration_h`` (Starboard: > 4 h; GFW carriers 4 h),
at least ``rule_min_port_km`` from the nearest port, outside anchorages and port zones, by
vessels that are not fishing, towing or piloting (their slow work is normal), and that moved
at all (a transmitter that never moves a metre is a fixed station or a parked test unit).

Features (units in the names):

- ``duration_h``: run length.
- ``mean_speed_kn`` / ``max_speed_kn``: over the run's pings.
- ``radius_km``: largest distance of a position from the run's mean position.
- ``distance_to_port_km`` / ``distance_to_anchorage_km``: to the nearest configured place.
- ``in_port`` / ``in_anchorage``: 1 when the mean position lies within that place's radius.
- ``night_share``: share of pings at local (solar) night.
- ``at_anchor_share``: share of pings reporting navigational status "at anchor" or "moored".
- ``is_service_vessel``: 1 for fishing, tug, pilot and service craft.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import connect
from ais.events import conform
from ais.geo import nearest_place, night_share

FEATURES: tuple[str, ...] = (
    "duration_h", "mean_speed_kn", "max_speed_kn", "radius_km", "distance_to_port_km",
    "distance_to_anchorage_km", "in_port", "in_anchorage", "night_share", "at_anchor_share",
    "is_service_vessel",
)

SERVICE_CLASSES = ("fishing", "tug", "pilot", "service")
FIXED_RADIUS_KM = 0.005  # a run that never moves 5 m is a fixed transmitter, not a ship


def _runs(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    lc = cfg.loitering
    con = connect()
    con.register("t", tracks[["mmsi", "track", "segment", "timestamp", "lat", "lon", "sog",
                              "nav_status", "vessel_class", "gap_before_h", "step_km"]])
    runs = con.execute(f"""
        WITH speed AS (
            SELECT *,
                coalesce(sog, CASE WHEN gap_before_h > 0 THEN step_km / 1.852 / gap_before_h
                                   END) AS speed_kn
            FROM t
        ),
        smooth AS (
            SELECT *,
                median(speed_kn) OVER (
                    PARTITION BY mmsi, track ORDER BY timestamp
                    RANGE BETWEEN INTERVAL 30 MINUTE PRECEDING AND INTERVAL 30 MINUTE FOLLOWING
                ) AS hourly_kn
            FROM speed
        ),
        flagged AS (
            SELECT *, coalesce(hourly_kn < {lc.max_speed_kn}, false) AS slow,
                coalesce(gap_before_h > {lc.max_gap_h}, true) AS breaks
            FROM smooth
        ),
        starts AS (
            SELECT *,
                CASE WHEN breaks OR slow IS DISTINCT FROM lag(slow) OVER w THEN 1 ELSE 0 END
                    AS new_run
            FROM flagged
            WINDOW w AS (PARTITION BY mmsi, track ORDER BY timestamp)
        ),
        numbered AS (
            SELECT *, sum(new_run) OVER (PARTITION BY mmsi, track ORDER BY timestamp
                                         ROWS UNBOUNDED PRECEDING) AS run
            FROM starts
        ),
        slow_runs AS (
            SELECT mmsi, track, run, min(timestamp) AS start_time, max(timestamp) AS end_time,
                avg(lat) AS lat, avg(lon) AS lon, avg(speed_kn) AS mean_speed_kn,
                max(speed_kn) AS max_speed_kn, count(*) AS n_pings,
                avg(CASE WHEN lower(nav_status) LIKE '%anchor%'
                          OR lower(nav_status) LIKE '%moored%' THEN 1.0 ELSE 0.0 END)
                    AS at_anchor_share,
                mode(vessel_class) AS vessel_class
            FROM numbered WHERE slow
            GROUP BY ALL
            HAVING epoch(max(timestamp) - min(timestamp)) / 3600.0 >= {lc.min_duration_h}
        )
        SELECT r.*, epoch(r.end_time - r.start_time) / 3600.0 AS duration_h,
            max(hav_km(r.lat, r.lon, n.lat, n.lon)) AS radius_km
        FROM slow_runs r JOIN numbered n USING (mmsi, track, run)
        GROUP BY ALL
        ORDER BY mmsi, track, start_time
    """).df()
    con.close()
    return runs


def detect(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Slow runs as loitering candidates (see the module docstring)."""
    if tracks.empty:
        return conform(pd.DataFrame(), "loitering", FEATURES)
    runs = _runs(tracks, cfg)
    if runs.empty:
        return conform(pd.DataFrame(), "loitering", FEATURES)
    lat, lon = runs["lat"].to_numpy(float), runs["lon"].to_numpy(float)
    port_name, port_km, in_port = nearest_place(lat, lon, cfg.places, ("port",))
    anch_name, anch_km, in_anch = nearest_place(lat, lon, cfg.places, ("anchorage",))
    runs["distance_to_port_km"] = port_km
    runs["distance_to_anchorage_km"] = anch_km
    runs["in_port"] = in_port.astype(float)
    runs["in_anchorage"] = in_anch.astype(float)
    runs["is_service_vessel"] = runs["vessel_class"].isin(SERVICE_CLASSES).astype(float)
    runs["night_share"] = _night_share(runs)

    lc = cfg.loitering
    fixed = runs["radius_km"] < FIXED_RADIUS_KM
    runs["passes_rule"] = (
        (runs["duration_h"] >= lc.rule_min_duration_h)
        & (runs["distance_to_port_km"] >= lc.rule_min_port_km)
        & ~in_port & ~in_anch
        & (runs["is_service_vessel"] == 0)
        & ~fixed
    )
    runs["context"] = np.select(
        [fixed, in_port, in_anch, runs["is_service_vessel"] == 1,
         runs["distance_to_port_km"] < lc.rule_min_port_km],
        ["no movement at all: fixed transmitter or parked unit",
         "berth or port stay: " + pd.Series(port_name, dtype=str),
         "anchorage wait: " + pd.Series(anch_name, dtype=str),
         runs["vessel_class"].astype(str) + " vessel working slowly",
         "near port: " + pd.Series(port_name, dtype=str)],
        default="at sea",
    )
    return conform(runs.drop(columns=["run"]), "loitering", FEATURES)


def _night_share(runs: pd.DataFrame) -> np.ndarray:
    """Share of each run's duration at local night, sampled every 10 minutes of the run."""
    steps = np.maximum(1, np.ceil(runs["duration_h"].to_numpy(float) * 6).astype(int))
    idx = np.repeat(np.arange(len(runs)), steps)
    offset = np.arange(len(idx)) - np.repeat(np.cumsum(steps) - steps, steps)
    times = (runs["start_time"].iloc[idx].reset_index(drop=True)
             + pd.to_timedelta(offset * 10, unit="min"))
    night = night_share(times, runs["lon"].iloc[idx].reset_index(drop=True))
    return np.bincount(idx, weights=night, minlength=len(runs)) / steps
