"""Loitering: one vessel moving very slowly for hours.

Candidates are runs of pings whose centred one-hour median speed is below
``max_speed_kn`` (GFW: hourly mean < 2 kn; the median keeps the run's edges where the speed
changes instead of shaving half an hour off each end, and ignores single speed spikes),
lasting at least ``min_duration_h``, inside one track (a silence longer than ``max_gap_h``
*and* longer than the track's own rhythm allows, :func:`ais.tracking.coverage.allowed_gap_h`: six
of its median intervals, at most 3 h, ends the run: that is a dark period, not loitering;
a silence of up to 3 h after which the vessel is heard again no farther than loitering speed
could take it does not end the run, however short its usual interval).
Runs are measured on time, not on ping windows: a drift reported by satellite every 15-45
minutes is one run. Speed is the reported
SOG, or the speed implied by the step from the previous ping where SOG is not available.

The rule flags runs of at least ``rule_min_duration_h`` (Starboard: > 4 h; GFW carriers 4 h),
at least ``rule_min_port_km`` from the nearest port, outside anchorages and port zones, by
vessels that are not fishing, towing or piloting (their slow work is normal), and that moved
at all (a transmitter that never moves a metre is a fixed station or a parked test unit).

Features (units in the names):

- ``duration_h``: run length.
- ``mean_speed_kn`` / ``max_speed_kn``: over the run's pings.
- ``radius_km``: largest distance of a position from the run's mean position.
- ``distance_to_port_km``: to the nearest port of the table or the configuration
  (:mod:`ais.geography.ports`); ``distance_to_anchorage_km``: to the nearest configured anchorage.
- ``in_port`` / ``in_anchorage``: 1 when the mean position lies within that place's radius.
- ``night_share``: share of pings at local (solar) night.
- ``at_anchor_share``: share of pings reporting navigational status "at anchor" or "moored"
  (as text or as ITU codes 1 and 5, :mod:`ais.inputs.navstatus`).
- ``is_service_vessel``: 1 for fishing, tug, pilot and service craft.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import connect
from ais.detectors.words import num, where
from ais.events import conform
from ais.geography.geo import nearest_place, night_share
from ais.geography.ports import nearest_port
from ais.inputs.navstatus import SQL_CODE
from ais.tracking.coverage import MAX_CADENCE_GAP_H, DataWindow, allowed_gap_h
from ais.tracking.tracks import epoch_ns, track_order

#: What this detector finds, its id prefix (``LOI-...``), the colour of its
#: events on maps, exports and the report, and what ``other_mmsi`` is to it.
EVENT_TYPE = "loitering"
ID_PREFIX = "LOI"
COLOUR = "#ff7f00"
OTHER_ROLE = ""
#: At sea by definition: a candidate on land or at a berth is a wait (:mod:`ais.judging.waits`).
AT_SEA = True
#: Scored by an isolation forest on FEATURES.
FOREST = True
#: Candidates of other types this one reads after they are found.
NEEDS: tuple[str, ...] = ()
FEATURES: tuple[str, ...] = (
    "duration_h", "mean_speed_kn", "max_speed_kn", "radius_km", "distance_to_port_km",
    "distance_to_anchorage_km", "in_port", "in_anchorage", "night_share", "at_anchor_share",
    "is_service_vessel",
)

SERVICE_CLASSES = ("fishing", "tug", "pilot", "service")


_HALF_US = 1_800_000_000  # half of the centred one-hour window, in microseconds


#: Rows per block of whole vessels in :func:`_slow_pings` (its temporaries are per block).
BLOCK_ROWS = 1_000_000


def _slow_pings(tracks: pd.DataFrame, cfg: Config, block_rows: int = BLOCK_ROWS
                ) -> pd.DataFrame:
    """Pings whose centred one-hour median speed is below ``max_speed_kn``, with run ids.

    A window never reaches past its vessel, so the work is done in blocks of whole vessels
    of about ``block_rows`` rows (when the rows are grouped by MMSI, as build_tracks leaves
    them): a dozen per-ping temporaries then cost a block's memory, not the whole input's.
    """
    mmsi = tracks["mmsi"].to_numpy(np.int64)
    n = len(mmsi)
    cuts = [0, n]
    if n > block_rows and np.all(mmsi[1:] >= mmsi[:-1]):
        cuts = np.unique(np.r_[0, np.searchsorted(
            mmsi, mmsi[np.arange(block_rows, n, block_rows)], side="left"), n]).tolist()
    blocks, runs_so_far = [], 0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        block, runs_so_far = _slow_block(tracks.iloc[a:b], cfg, runs_so_far)
        blocks.append(block)
    if len(blocks) == 1:
        return blocks[0]
    # column by column, each block's column freed once joined: the blocks and the whole
    # (the slow pings of a dense day are millions) are never held twice at once
    whole = {}
    for name in list(blocks[0].columns):
        whole[name] = pd.concat([block.pop(name) for block in blocks], ignore_index=True)
    return pd.DataFrame(whole, copy=False)


def _slow_block(tracks: pd.DataFrame, cfg: Config, first_run: int
                ) -> tuple[pd.DataFrame, int]:
    """:func:`_slow_pings` of one block, its run ids counted on from ``first_run`` (slow and
    other runs alike, as in one pass), and the last run id.

    Per-ping work is numpy over rows in (mmsi, track, time) order. The rolling median needs
    no sorting of window values: with ``n`` speeds in a window of which ``s`` are below the
    threshold, the median is below it when ``2 s > n`` and not when ``2 s < n``; only an
    exact tie (``n`` even, ``2 s = n``) depends on the two middle values, and those few
    windows get DuckDB's median. Window counts come from cumulative sums and two binary
    searches on a time axis where each track is shifted past the previous one.
    """
    lc = cfg.loitering
    mmsi = tracks["mmsi"].to_numpy(np.int64)
    track = tracks["track"].to_numpy(np.int64)
    t_all = epoch_ns(tracks["timestamp"])
    order = track_order(mmsi, track, t_all)  # None: the rows are in that order already

    def in_order(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    t_us = in_order(t_all) // 1000  # DuckDB's resolution, as the windows always were
    key = in_order(mmsi) * 100_000 + in_order(track)
    n = len(t_us)
    first = np.r_[True, key[1:] != key[:-1]]

    def col(name: str) -> np.ndarray:
        return in_order(pd.to_numeric(tracks[name], errors="coerce").to_numpy(
            float, na_value=np.nan))

    sog, gap_h, step_km = col("sog"), col("gap_before_h"), col("step_km")
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = np.where(gap_h > 0, step_km / 1.852 / gap_h, np.nan)
    speed = np.where(np.isnan(sog), implied, sog)

    # one time axis for all tracks: each track starts more than a window after the last
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], n] - 1
    track_no = np.cumsum(first) - 1
    shift = np.r_[0, np.cumsum(t_us[ends] - t_us[starts] + 2 * _HALF_US + 1)[:-1]]
    axis = t_us - t_us[starts][track_no] + shift[track_no]
    lo = np.searchsorted(axis, axis - _HALF_US, side="left")
    hi = np.searchsorted(axis, axis + _HALF_US, side="right")
    with np.errstate(invalid="ignore"):
        below = speed < lc.max_speed_kn
    n_valid = np.r_[0, np.cumsum(~np.isnan(speed))]
    n_below = np.r_[0, np.cumsum(below)]
    in_window = n_valid[hi] - n_valid[lo]
    below_in_window = n_below[hi] - n_below[lo]
    slow = 2 * below_in_window > in_window
    tie = (2 * below_in_window == in_window) & (in_window > 0)
    if tie.any():
        n_tie = np.r_[0, np.cumsum(tie)]
        support = np.flatnonzero(n_tie[hi] - n_tie[lo] > 0)  # every window of a tie
        con = connect()
        con.register("s", pd.DataFrame({"i": support, "key": key[support],
                                        "t": t_us[support], "speed": speed[support]}))
        med = con.execute(f"""
            SELECT i, median(speed) OVER (PARTITION BY key ORDER BY t
                RANGE BETWEEN {_HALF_US} PRECEDING AND {_HALF_US} FOLLOWING) AS m
            FROM s
        """).fetchnumpy()
        con.close()
        i = med["i"].astype(np.int64)
        ties = tie[i]
        slow[i[ties]] = np.asarray(med["m"], dtype=float)[ties] < lc.max_speed_kn

    # a silence ends the run when it is longer than max_gap_h and than the track's own
    # rhythm allows (a satellite reporter heard every 15-45 minutes keeps one run)
    allowed = np.full(n, lc.max_gap_h)
    long_gap = gap_h > lc.max_gap_h
    if long_gap.any():  # the median interval only of the tracks that have such a silence
        rows: np.ndarray = np.isin(track_no, np.unique(track_no[long_gap]))
        allowed[rows] = allowed_gap_h(
            pd.Series(gap_h[rows]).groupby(track_no[rows]).transform("median").to_numpy(),
            lc.max_gap_h)
    # ... or when the vessel is heard again, within MAX_CADENCE_GAP_H, where it could not
    # have gone anywhere (the step over the silence at loitering speed): bursty satellite
    # reception (passes an hour or two apart, pings every few minutes within a pass) keeps
    # one run although its median interval is minutes
    with np.errstate(divide="ignore", invalid="ignore"):
        stayed = (gap_h <= MAX_CADENCE_GAP_H) & (step_km / 1.852 / gap_h < lc.max_speed_kn)
    breaks = first | ~((gap_h <= allowed) | stayed)
    new_run = breaks | np.r_[True, slow[1:] != slow[:-1]]
    run = first_run + np.cumsum(new_run)
    rows = np.flatnonzero(slow) if order is None else order[slow]
    last_run = int(run[-1]) if len(run) else first_run
    frame = pd.DataFrame({  # copy=False: a block per column (see _slow_pings)
        "mmsi": mmsi[rows], "track": track[rows], "run": run[slow],
        "timestamp": tracks["timestamp"].iloc[rows].reset_index(drop=True),
        "lat": tracks["lat"].to_numpy(float)[rows], "lon": tracks["lon"].to_numpy(float)[rows],
        "speed_kn": speed[slow],
        "nav_status": tracks["nav_status"].iloc[rows].reset_index(drop=True),
        "vessel_class": tracks["vessel_class"].iloc[rows].reset_index(drop=True),
    }, copy=False)
    return frame, last_run


def _runs(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    lc = cfg.loitering
    con = connect()
    con.register("slow", _slow_pings(tracks, cfg))
    runs = con.execute(f"""
        WITH slow_runs AS (
            SELECT mmsi, track, run, min(timestamp) AS start_time, max(timestamp) AS end_time,
                avg(lat) AS lat, avg(lon) AS lon, avg(speed_kn) AS mean_speed_kn,
                max(speed_kn) AS max_speed_kn, count(*) AS n_pings,
                avg(CASE WHEN {SQL_CODE} IN (1, 5) THEN 1.0 ELSE 0.0 END)
                    AS at_anchor_share,
                mode(vessel_class ORDER BY vessel_class) AS vessel_class  -- ties: smallest
            FROM slow
            GROUP BY ALL
            HAVING epoch(max(timestamp) - min(timestamp)) / 3600.0 >= {lc.min_duration_h}
        )
        SELECT r.*, epoch(r.end_time - r.start_time) / 3600.0 AS duration_h,
            max(hav_km(r.lat, r.lon, n.lat, n.lon)) AS radius_km
        FROM slow_runs r JOIN slow n USING (mmsi, track, run)
        GROUP BY ALL
        ORDER BY mmsi, track, start_time
    """).df()
    con.close()
    return runs


def detect(tracks: pd.DataFrame, cfg: Config, window: DataWindow | None = None
           ) -> pd.DataFrame:
    """Slow runs as loitering candidates (see the module docstring).

    ``window`` (the scan's span) is accepted and not needed: a run belongs to one track, and
    nothing in it depends on where the data ends."""
    if tracks.empty:
        return conform(pd.DataFrame(), "loitering", FEATURES)
    runs = _runs(tracks, cfg)
    if runs.empty:
        return conform(pd.DataFrame(), "loitering", FEATURES)
    lat, lon = runs["lat"].to_numpy(float), runs["lon"].to_numpy(float)
    port_name, port_km, in_port = nearest_port(lat, lon, cfg)
    anch_name, anch_km, in_anch = nearest_place(lat, lon, cfg.places, ("anchorage",))
    runs["distance_to_port_km"] = port_km
    runs["distance_to_anchorage_km"] = anch_km
    runs["in_port"] = in_port.astype(float)
    runs["in_anchorage"] = in_anch.astype(float)
    runs["is_service_vessel"] = runs["vessel_class"].isin(SERVICE_CLASSES).astype(float)
    runs["night_share"] = _night_share(runs)

    lc = cfg.loitering
    fixed = runs["radius_km"] < lc.fixed_radius_km
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


def reason(ev: pd.Series) -> str:
    """One sentence for a loitering row: what happened, with numbers and units."""
    return (f"Loitered {num(ev['duration_h'])} h at {num(ev.get('mean_speed_kn'))} kn mean "
            f"within {num(ev.get('radius_km'))} km, {where(ev)} ({ev.get('context', '')})")


def decisive(events: pd.DataFrame, cfg: Config) -> np.ndarray:
    """No loitering is flagged on its rule alone: the forest decides (see ScoringConfig)."""
    return np.zeros(len(events), dtype=bool)
