"""How well meetups of satellite reporters are told apart by distance (recall vs. precision).

Two tankers sail in, drift side by side on parallel loops ``distance`` apart at ``speed``
(``ais.synth.world.Scenario.meetup``: loops of 250-450 m radius) for 6 h and sail away; each
is then heard only at satellite passes 40-100 minutes apart, drawn independently for the two
(the cadence of the GFW sample's Orbcomm reporters). For every speed and distance, ``--runs``
worlds are built and the meetups passing the rule counted: pairs up to 500 m apart should
pass (recall), pairs 700 m or more apart should not (600 m lies on the boundary that
positions an hour from any fix cannot resolve).

Run::

    python bench/sparse_meetups.py --runs 20
    python bench/sparse_meetups.py --runs 20 --max-fix-allowance-m 0   # estimates alone

Prints one line per speed and distance and the totals.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np
import pandas as pd

from ais.config import Config
from ais.detectors import meetup
from ais.synth.world import Scenario
from ais.tracking.tracks import build_tracks

CENTRE = (38.40, 124.40)  # open water of Korea Bay, ~90 km from Nampo
A, B = 667123456, 445100200
SPEEDS_KN = (0.3, 0.7, 1.0)
DISTANCES_M = (150, 400, 600, 700, 800, 1000)


def _dest(at: tuple[float, float], bearing: float, km: float) -> tuple[float, float]:
    lat = at[0] + km * np.cos(np.radians(bearing)) / 111.2
    lon = at[1] + km * np.sin(np.radians(bearing)) / (111.2 * np.cos(np.radians(at[0])))
    return float(lat), float(lon)


def heard(pings: pd.DataFrame, mmsi: int, rng: np.random.Generator,
          every_min: tuple[float, float] = (40.0, 100.0)) -> pd.DataFrame:
    """Keep of ``mmsi`` only its first report at or after each satellite pass."""
    own = pings[pings["mmsi"] == mmsi].sort_values("timestamp")
    t = own["timestamp"].to_numpy()
    passes = t[0] + pd.to_timedelta(np.r_[0, np.cumsum(rng.uniform(*every_min, 40))], "min")
    idx = np.unique(np.searchsorted(t, passes.to_numpy()))
    return pd.concat([pings[pings["mmsi"] != mmsi], own.iloc[idx[idx < len(own)]]])


def satellite_pair(distance_m: float, speed_kn: float, seed: int, hours: float = 6.0
                   ) -> pd.DataFrame:
    """Tracks of two satellite reporters drifting ``distance_m`` apart for ``hours``."""
    sc = Scenario(seed=seed, report_every_s=60)
    a = sc.vessel(A, "SAT A", ship_type="tanker", start="2026-01-05T00:00Z",
                  at=_dest(CENTRE, 0, 15))
    b = sc.vessel(B, "SAT B", ship_type="tanker", start="2026-01-05T00:00Z",
                  at=_dest(CENTRE, 180, 15))
    sc.meetup(a, b, at=CENTRE, hours=hours, distance_m=distance_m, speed_kn=speed_kn,
              approach_speed_kn=9)
    a.sail(to=_dest(CENTRE, 90, 20), speed_kn=10)
    b.sail(to=_dest(CENTRE, 270, 20), speed_kn=10)
    rng = np.random.default_rng(seed)
    pings = heard(heard(sc.pings(), A, rng), B, rng)
    return build_tracks(pings.sort_values(["timestamp", "mmsi"]).reset_index(drop=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-fix-allowance-m", type=float)
    parser.add_argument("--fix-anchor-m", type=float)
    args = parser.parse_args()
    mc = Config().meetup
    changes = {k: v for k, v in (("max_fix_allowance_m", args.max_fix_allowance_m),
                                 ("fix_anchor_m", args.fix_anchor_m)) if v is not None}
    cfg = dataclasses.replace(Config(), meetup=dataclasses.replace(mc, **changes))
    found = {"<= 500 m": [0, 0], ">= 700 m": [0, 0]}
    lines = [f"{'speed_kn':>8} {'distance_m':>10} {'passing':>8} of {args.runs}"]
    for speed in SPEEDS_KN:
        for dist in DISTANCES_M:
            n = sum(int(meetup.detect(satellite_pair(dist, speed, seed), cfg)["passes_rule"]
                        .sum() > 0) for seed in range(args.runs))
            lines.append(f"{speed:>8} {dist:>10} {n:>8}")
            key = "<= 500 m" if dist <= 500 else ">= 700 m" if dist >= 700 else None
            if key:
                found[key][0] += n
                found[key][1] += args.runs
    for key, (n, total) in found.items():
        lines.append(f"pairs {key} apart passing: {n} of {total}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
