"""One dense day of regional traffic, vectorised: the benchmark's second shape.

:func:`dense_day` writes ``n_rows`` pings of ONE day from about ``n_rows / 1000`` vessels
(10 k vessels at 10 M pings, one ping every ~86 s each), in reception order (sorted by time,
not by vessel), the way a regional feed arrives:

- 55 % in transit: straight lines across the open water of both areas, 8-14 kn;
- 30 % anchored in ~40 anchorages (a few km across, ``at anchor``, 0-0.3 kn, swinging);
- 13 % slow: 0.5-2.5 kn along a short line (fishing, drifting; loitering candidates);
- 2 % ship-to-ship pairs: two vessels that sail to the same point, lie alongside
  (< 100 m, < 0.5 kn) for 3-8 hours and sail apart;
- and, across all of them, one vessel in ten silent for 6-14 hours (a dark-period
  candidate each), so the per-vessel detectors get work of every kind.

No truth file: this shape measures speed and memory, not recall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.synth.world import (
    _ENGLISH,
    _ENGLISH_END,
    _FOC,
    _GEO,
    _KN_TO_KMH,
    _M_PER_DEG,
    AT_ANCHOR,
    FISHING,
    UNDER_WAY,
    _Ids,
    _to_s,
)

DAY_S = 86_400
#: shares of the fleet (transit, anchored, slow, ship-to-ship)
SHARES = (0.55, 0.30, 0.13, 0.02)
ANCHORAGES = 40
DARK_SHARE = 0.10
TEXT = ("name", "callsign", "imo", "ship_type", "nav_status")


def _kinds(n_v: int) -> np.ndarray:
    """0 transit, 1 anchored, 2 slow, 3 ship-to-ship (an even number of the last)."""
    counts = np.floor(np.array(SHARES) * n_v).astype(int)
    counts[3] -= counts[3] % 2
    counts[0] += n_v - counts.sum()
    return np.repeat(np.arange(4), counts)


def dense_day(n_rows: int, seed: int = 11, day: str = "2026-01-05") -> pd.DataFrame:
    """``n_rows`` pings of one day, canonical columns, sorted by (timestamp, mmsi); the text
    columns are categorical (cheap to build and to write at 10 M rows)."""
    rng = np.random.default_rng(seed)
    n_rows = int(n_rows)
    n_v = max(10, n_rows // 1000)
    kind = _kinds(n_v)
    ids = _Ids(np.random.default_rng([seed, 3]))
    mids = rng.choice(np.array(_FOC + (445, 445, 445, 412, 273, 440)), n_v)
    mmsi = np.array([ids.mmsi(int(m)) for m in mids], dtype=np.int64)
    words = np.array(_ENGLISH, dtype=object)[rng.integers(0, len(_ENGLISH), n_v)]
    ends = np.array(_ENGLISH_END, dtype=object)[rng.integers(0, len(_ENGLISH_END), n_v)]
    names = np.array([f"{w} {e} {i % 997 + 1}" for i, (w, e) in
                      enumerate(zip(words, ends, strict=True))], dtype=object)
    calls = np.array([ids.callsign(int(m)) for m in mids], dtype=object)
    imos = np.array([ids.imo() for _ in range(n_v)], dtype=object)
    types = np.where(kind == 2, "fishing",
                     rng.choice(np.array(["cargo", "tanker", "cargo", "tug"]), n_v))
    status = np.where(kind == 1, AT_ANCHOR, np.where(kind == 2, FISHING, UNDER_WAY))

    # where: each vessel's line a -> b in one of the two areas' open water
    boxes = np.array([_GEO["Nampo"].far_box, _GEO["Najin"].far_box])
    area = rng.integers(0, 2, n_v)
    box = boxes[area]
    lat_a, lon_a = rng.uniform(box[:, 0], box[:, 1]), rng.uniform(box[:, 2], box[:, 3])
    bearing = rng.uniform(0, 360, n_v)
    speed = np.select([kind == 0, kind == 2, kind == 3],
                      [rng.uniform(8, 14, n_v), rng.uniform(0.5, 2.5, n_v),
                       rng.uniform(8, 12, n_v)], 0.0)
    # anchorages: ~40 centres spread over both areas; each anchored vessel has its berth
    centres = np.c_[rng.uniform(boxes[np.arange(ANCHORAGES) % 2, 0],
                                boxes[np.arange(ANCHORAGES) % 2, 1]),
                    rng.uniform(boxes[np.arange(ANCHORAGES) % 2, 2],
                                boxes[np.arange(ANCHORAGES) % 2, 3])]
    which = rng.integers(0, ANCHORAGES, n_v)
    berth_r = 2500 * np.sqrt(rng.uniform(0, 1, n_v))
    berth_a = rng.uniform(0, 2 * np.pi, n_v)
    anchored = kind == 1
    lat_a[anchored] = (centres[which, 0] + berth_r * np.cos(berth_a) / _M_PER_DEG)[anchored]
    lon_a[anchored] = (centres[which, 1] + berth_r * np.sin(berth_a)
                       / (_M_PER_DEG * np.cos(np.radians(centres[which, 0]))))[anchored]
    # ship-to-ship pairs: partner j of vessel i shares its meeting point and hours
    pair = np.flatnonzero(kind == 3)
    first, second = pair[0::2], pair[1::2]
    meet_lat, meet_lon = lat_a.copy(), lon_a.copy()
    meet_start = rng.uniform(3 * 3600, 12 * 3600, n_v)
    meet_end = meet_start + rng.uniform(3 * 3600, 8 * 3600, n_v)
    for arr in (meet_lat, meet_lon, meet_start, meet_end):
        arr[second] = arr[first]

    # when: n_rows pings shared out evenly, ~regular reporting with jitter
    per = np.full(n_v, n_rows // n_v)
    per[: n_rows - per.sum()] += 1
    vid = np.repeat(np.arange(n_v), per)
    interval = DAY_S / per
    starts = np.r_[0, np.cumsum(per)[:-1]]
    k = np.arange(n_rows) - np.repeat(starts, per)
    rel = (k + 0.5) * interval[vid] + rng.uniform(-0.3, 0.3, n_rows) * interval[vid]
    rel = np.clip(rel, 0, DAY_S - 1)
    # one vessel in ten goes dark for 6-14 h: its pings of those hours move to the gap's ends
    dark = rng.random(n_v) < DARK_SHARE
    gap_from = rng.uniform(2 * 3600, 8 * 3600, n_v)
    gap_len = rng.uniform(6 * 3600, 14 * 3600, n_v)
    inside = dark[vid] & (rel > gap_from[vid]) & (rel < gap_from[vid] + gap_len[vid])
    frac = (rel - gap_from[vid]) / gap_len[vid]
    rel = np.where(inside & (frac < 0.5), gap_from[vid] - (0.5 - frac) * 1800,
                   np.where(inside, gap_from[vid] + gap_len[vid] + (frac - 0.5) * 1800, rel))
    rel = np.clip(rel, 0, DAY_S - 1)

    # position along the track at each ping
    hours = rel / 3600.0
    dist_m = hours * speed[vid] * _KN_TO_KMH * 1000
    brg = np.radians(bearing)[vid]
    east, north = dist_m * np.sin(brg), dist_m * np.cos(brg)
    cog = np.full(n_rows, 0.0) + bearing[vid]
    sog = speed[vid] + rng.normal(0, 0.15, n_rows)
    # transit lines turn back every ~120 km so they stay at sea
    leg_m = 120_000.0
    along = dist_m % (2 * leg_m)
    back = along > leg_m
    along = np.where(back, 2 * leg_m - along, along)
    moving = (kind[vid] == 0) | (kind[vid] == 2)
    east = np.where(moving, along * np.sin(brg), east)
    north = np.where(moving, along * np.cos(brg), north)
    cog = np.where(moving & back, (cog + 180.0) % 360.0, cog)
    # anchored: swing around the anchor with the tide, ~100 m
    at_anchor = kind[vid] == 1
    swing = 2 * np.pi * rel / (12.42 * 3600) + berth_a[vid]
    east = np.where(at_anchor, 100 * np.sin(swing), east)
    north = np.where(at_anchor, 100 * np.cos(swing), north)
    sog = np.where(at_anchor, rng.uniform(0, 0.3, n_rows), sog)
    cog = np.where(at_anchor, np.degrees(swing) % 360.0, cog)
    # ship-to-ship: sail in to the point, lie alongside, sail out (the second 60 m off)
    sts = kind[vid] == 3
    before = np.clip(meet_start[vid] - rel, 0, None) / 3600.0 * speed[vid] * _KN_TO_KMH * 1e3
    after = np.clip(rel - meet_end[vid], 0, None) / 3600.0 * speed[vid] * _KN_TO_KMH * 1e3
    d_sts = np.minimum(before + after, 150_000.0)
    out_brg = brg + np.pi / 2
    side = np.isin(vid, second) * 60.0
    e_sts = -before * np.sin(brg) + after * np.sin(out_brg) + side
    n_sts = -before * np.cos(brg) + after * np.cos(out_brg)
    alongside = sts & (d_sts == 0)
    east = np.where(sts, e_sts, east)
    north = np.where(sts, n_sts, north)
    sog = np.where(alongside, rng.uniform(0, 0.4, n_rows), sog)
    cog = np.where(sts & (after > 0), (bearing[vid] + 90.0) % 360.0, cog)
    base_lat = np.where(sts, meet_lat[vid], lat_a[vid])
    base_lon = np.where(sts, meet_lon[vid], lon_a[vid])
    lat = base_lat + north / _M_PER_DEG + rng.normal(0, 1e-4, n_rows)
    lon = (base_lon + east / (_M_PER_DEG * np.cos(np.radians(base_lat)))
           + rng.normal(0, 1.4e-4, n_rows))
    cog = cog + rng.normal(0, 1.5, n_rows)
    heading = cog + rng.normal(0, 2, n_rows)

    # reception order: by time, then vessel
    t = _to_s(day) + rel.astype(np.int64)
    order = np.lexsort((mmsi[vid], t))
    vid = vid[order]
    frame = pd.DataFrame({
        "mmsi": mmsi[vid],
        "timestamp": pd.DatetimeIndex(
            (t[order] * 1_000_000_000).astype("datetime64[ns]")).tz_localize("UTC"),
        "lat": np.round(np.clip(lat[order], -89.9, 89.9), 6),
        "lon": np.round(lon[order], 6),
        "sog": np.round(np.clip(sog[order], 0, None), 1),
        "cog": np.round(np.mod(cog[order], 360.0), 1) % 360.0,
        "heading": np.rint(np.mod(heading[order], 360.0)) % 360.0,
    })
    for col, values in zip(TEXT, (names, calls, imos, types.astype(object),
                                  status.astype(object)), strict=True):
        uniq, codes = np.unique(values.astype(str), return_inverse=True)
        frame[col] = pd.Categorical.from_codes(codes[vid], categories=uniq)
    return frame


def kinds_of(n_rows: int) -> pd.Series:
    """How many vessels of each kind :func:`dense_day` draws for ``n_rows`` pings."""
    kind = _kinds(max(10, int(n_rows) // 1000))
    return pd.Series(np.bincount(kind, minlength=4),
                     index=["transit", "anchored", "slow", "ship_to_ship"])

