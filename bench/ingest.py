"""Ingest and track-building throughput on synthetic traffic.

    python bench/ingest.py --rows 1e6 1e7

Generates (and caches under --cache) a Parquet file of N plain pings with ais.synth.world, then
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
    from ais.inputs.ingest import ingest
    from ais.tracking.tracks import build_tracks

    t0 = time.perf_counter()
    ingested = ingest([path])
    t1 = time.perf_counter()
    tracks = build_tracks(ingested.pings)
    t2 = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"rows": ingested.report.rows_in, "ingest_s": t1 - t0,
                      "tracks_s": t2 - t1, "tracks": int(tracks["track"].max() + 1),
                      "peak_rss_gb": peak_gb}))


def _write_days(n: int, path: Path, per_day: int = 1_000_000) -> None:
    """N pings as consecutive days of the same synthetic fleet, written day by day."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ais.synth.world import generate_pings

    writer = None
    day = 0
    while n > 0:
        rows = min(per_day, n)
        start = (pd.Timestamp("2026-01-05") + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
        table = pa.Table.from_pandas(generate_pings(rows, seed=7, start=start),
                                     preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        n -= rows
        day += 1
    if writer is not None:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", nargs="+", type=float, default=[1e6])
    parser.add_argument("--cache", default="/tmp/ais-bench")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"{'rows':>12} {'ingest s':>9} {'rows/s':>12} {'tracks s':>9} {'peak RSS GB':>12}")
    for n in (int(r) for r in args.rows):
        path = cache / f"pings_{n}.parquet"
        if not path.exists():
            _write_days(n, path)
        out = subprocess.run([sys.executable, __file__, "--child", str(path)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['rows']:>12,} {r['ingest_s']:>9.2f} {r['rows'] / r['ingest_s']:>12,.0f} "
              f"{r['tracks_s']:>9.2f} {r['peak_rss_gb']:>12.2f}")


if __name__ == "__main__":
    main()
