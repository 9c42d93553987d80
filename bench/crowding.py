"""Benchmark the meetup detector on its worst case: a crowded anchorage.

``--vessels`` ships lie at anchor for ``--hours`` inside a circle ``--diameter-km`` across
(default: 2,000 ships, 24 h, 10 km, around the unverified Nampo anchorage position
38-45N 125-20E), each reporting every minute (+-10 s jitter). Each swings around its anchor
on a 60-200 m circle with the tide, with 10 m of position noise and SOG 0-0.6 kn. Everything
is slow and close, so many pairs are within 500 m all day: the pair join has to stay bounded.

Run::

    python bench/crowding.py --vessels 2000 --hours 24

Prints the number of pings, candidate meetups, the seconds taken by each stage and the
process's peak resident memory (Linux ru_maxrss, in KiB).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from ais.config import Config
from ais.detectors import meetup
from ais.tracking.tracks import build_tracks

M_PER_DEG = 111_195.0
TIDE_S = 12.42 * 3600.0


def crowd(vessels: int, hours: float, diameter_km: float, center: tuple[float, float],
          seed: int, start: str = "2026-01-05T00:00:00Z") -> pd.DataFrame:
    """Pings of ``vessels`` anchored ships (vectorised; rows sorted by mmsi, timestamp)."""
    rng = np.random.default_rng(seed)
    per = int(hours * 60)
    n = vessels * per
    mmsi = 412_000_000 + rng.choice(999_999, size=vessels, replace=False).astype(np.int64)
    mmsi[: vessels // 10] = 445_000_000 + np.arange(vessels // 10)  # some DPRK-flagged
    mmsi.sort()
    # anchors uniformly inside the circle
    radius_m = diameter_km * 500.0 * np.sqrt(rng.uniform(0, 1, vessels))
    bearing = rng.uniform(0, 2 * np.pi, vessels)
    coslat = np.cos(np.radians(center[0]))
    a_lat = center[0] + radius_m * np.cos(bearing) / M_PER_DEG
    a_lon = center[1] + radius_m * np.sin(bearing) / (M_PER_DEG * coslat)
    swing = rng.uniform(60, 200, vessels)
    phase = rng.uniform(0, 2 * np.pi, vessels)

    t0 = pd.Timestamp(start).value // 1_000_000_000
    t = (t0 + np.arange(per)[None, :] * 60 + rng.integers(-10, 11, (vessels, per))
         + rng.integers(0, 60, vessels)[:, None]).ravel()
    v = np.repeat(np.arange(vessels), per)
    theta = phase[v] + 2 * np.pi * (t - t0) / TIDE_S
    north = swing[v] * np.cos(theta) + rng.normal(0, 10, n)
    east = swing[v] * np.sin(theta) + rng.normal(0, 10, n)
    names = np.array([f"CROWD {i:04d}" for i in range(vessels)], dtype=object)
    classes = np.array(["tanker", "cargo", "fishing", "tug"], dtype=object)[
        rng.choice(4, size=vessels, p=[0.3, 0.55, 0.1, 0.05])]
    return pd.DataFrame({
        "mmsi": mmsi[v],
        "timestamp": pd.to_datetime(t, unit="s", utc=True),
        "lat": a_lat[v] + north / M_PER_DEG,
        "lon": a_lon[v] + east / (M_PER_DEG * coslat),
        "sog": np.round(rng.uniform(0, 0.6, n), 1),
        "name": names[v],
        "vessel_class": classes[v],
    })


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vessels", type=int, default=2000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--diameter-km", type=float, default=10.0)
    parser.add_argument("--lat", type=float, default=38.75)
    parser.add_argument("--lon", type=float, default=125.3333)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    t = time.perf_counter()
    pings = crowd(args.vessels, args.hours, args.diameter_km, (args.lat, args.lon), args.seed)
    t_gen = time.perf_counter() - t

    t = time.perf_counter()
    tracks = build_tracks(pings)
    t_tracks = time.perf_counter() - t

    t = time.perf_counter()
    events = meetup.detect(tracks, Config())
    t_meetup = time.perf_counter() - t

    passing = int(events["passes_rule"].sum()) if len(events) else 0
    report = [
        f"vessels            {args.vessels}",
        f"pings              {len(pings):,}",
        f"tracks             {tracks.groupby(['mmsi', 'track']).ngroups:,}",
        f"meetup candidates  {len(events):,}",
        f"passing the rule   {passing:,}",
        f"generate           {t_gen:7.2f} s",
        f"build_tracks       {t_tracks:7.2f} s",
        f"meetup.detect      {t_meetup:7.2f} s",
        f"peak RSS           {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:7.2f} GB",
    ]
    sys.stdout.write("\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
