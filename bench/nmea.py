"""NMEA decode rate, and a scan of a re-encoded file against its Parquet original.

    PYTHONPATH=$PWD python bench/nmea.py ../shared/data/gfw-gpsdio-segment/positions.parquet

Writes the Parquet file's pings as a gzipped NMEA 4.0 log (tests/formats.py: a type 1 per
ping, a two-sentence type 5 at each identity change and every 6 minutes, the receive time in
the tag block), decodes it with ais.inputs.readers.nmea (messages/s), converts it with `ais
convert`,
and compares the flagged events (everywhere) of the original and the converted file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYS = ["event_id", "event_type", "mmsi", "other_mmsi", "start_time", "end_time"]


def _events(path: Path) -> pd.DataFrame:
    import dataclasses

    from ais import pipeline
    from ais.config import Config

    cfg = dataclasses.replace(Config(), everywhere=True)
    detected = pipeline.detect([path], cfg)
    models, _ = pipeline.load_models(None, detected, cfg)
    return pipeline.score_events(detected, models, cfg).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--encode-only", action="store_true",
                        help="measure decoding and convert only, no scans")
    args = parser.parse_args()

    from ais.inputs.readers.convert import convert
    from ais.inputs.readers.nmea import read_nmea
    from tests.formats import write_nmea

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ais-nmea-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    pings = pd.read_parquet(args.parquet).rename(columns={"ts": "timestamp"})
    log = work / "log.nmea.gz"
    t = time.perf_counter()
    write_nmea(pings, log)
    print(f"encoded {len(pings):,} pings as {log} ({log.stat().st_size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - t:.1f} s")

    _, report = read_nmea(log)
    print(f"decode: {report.lines:,} lines, {report.messages:,} messages "
          f"({report.positions:,} positions, {report.statics:,} static) in "
          f"{report.seconds:.2f} s wall, {report.cpu_seconds:.2f} s CPU = "
          f"{report.messages / report.seconds:,.0f} messages/s wall, "
          f"{report.messages / report.cpu_seconds:,.0f} messages per CPU second "
          f"({report.lines / report.cpu_seconds:,.0f} lines per CPU second); "
          f"left out {dict(report.bad)}")

    out = work / "converted.parquet"
    t = time.perf_counter()
    converted = convert([log], out)
    print(f"ais convert: {converted.rows:,} rows in {time.perf_counter() - t:.2f} s")

    if args.encode_only:
        return
    original, again = _events(args.parquet), _events(out)
    merged = original[KEYS + ["lat", "lon"]].merge(
        again[KEYS + ["lat", "lon"]], on=KEYS, how="outer", indicator=True,
        suffixes=("", "_nmea"))
    both = merged[merged["_merge"] == "both"]
    print(f"flagged events (--everywhere): original {len(original)}, from NMEA {len(again)}, "
          f"same {len(both)}; max position difference "
          f"{(both['lat'] - both['lat_nmea']).abs().max():.6f} deg lat, "
          f"{(both['lon'] - both['lon_nmea']).abs().max():.6f} deg lon")
    for _, row in merged[merged["_merge"] != "both"].iterrows():
        side = "only in the original" if row["_merge"] == "left_only" else "only from NMEA"
        print(f"  {side}: {row['event_type']} {row['mmsi']} {row['start_time']} "
              f"-> {row['end_time']}")


if __name__ == "__main__":
    main()
