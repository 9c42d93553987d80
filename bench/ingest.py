"""Ingest and track-building throughput on synthetic traffic.

    python bench/ingest.py --rows 1e6 1e7

Generates (and caches under --cache) a Parquet file of N plain pings with ais.synth, then
times ingest and build_tracks in a fresh process per size and prints rows/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _child(path: str) -> None:
    from ais.ingest import ingest
    from ais.tracks import build_tracks

    t0 = time.perf_counter()
    ingested = ingest([path])
    t1 = time.perf_counter()
    tracks = build_tracks(ingested.pings)
    t2 = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"rows": ingested.report.rows_in, "ingest_s": t1 - t0,
                      "tracks_s": t2 - t1, "tracks": int(tracks["track"].max() + 1),
                      "peak_rss_gb": peak_gb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", nargs="+", type=float, default=[1e6])
    parser.add_argument("--cache", default="/tmp/ais-bench")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    from ais.synth import generate_pings

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"{'rows':>12} {'ingest s':>9} {'rows/s':>12} {'tracks s':>9} {'peak RSS GB':>12}")
    for n in (int(r) for r in args.rows):
        path = cache / f"pings_{n}.parquet"
        if not path.exists():
            generate_pings(n, seed=7).to_parquet(path, index=False)
        out = subprocess.run([sys.executable, __file__, "--child", str(path)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['rows']:>12,} {r['ingest_s']:>9.2f} {r['rows'] / r['ingest_s']:>12,.0f} "
              f"{r['tracks_s']:>9.2f} {r['peak_rss_gb']:>12.2f}")


if __name__ == "__main__":
    main()
