"""Count flagged rows that are waits by the issue #13 measure, and list every flagged row.

python tools/measure_waits.py FLAGGED.csv POSITIONS.parquet

A row counts when it lies within 5 km of a port of the shipped table (ais/data/ports.csv)
or its vessel reports at anchor / moored (ITU 1 or 5, text or number) in most of its pings
between the event's start and end (for a dark period: the hour before it).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from ais.geography.ports import PortIndex, port_table
from ais.inputs import navstatus


def main(flagged_csv: str, positions: str) -> None:
    ev = pd.read_csv(flagged_csv)
    t = port_table()
    index = PortIndex(t["name"].to_numpy(), t["lat"].to_numpy(), t["lon"].to_numpy(),
                      np.full(len(t), 5.0))
    name, km, inside = index.nearest(ev["lat"].to_numpy(float), ev["lon"].to_numpy(float))
    pos = pd.read_parquet(positions, columns=["mmsi", "ts", "nav_status"])
    pos["mmsi"] = pd.to_numeric(pos["mmsi"], errors="coerce")
    pos["ts"] = pd.to_datetime(pos["ts"], utc=True)
    pos["code"] = navstatus.codes(pos["nav_status"].to_numpy(object))
    rest = []
    for _, r in ev.iterrows():  # a few dozen flagged rows
        t0 = pd.Timestamp(r["start_time"])
        t1 = pd.Timestamp(r["end_time"]) if pd.notna(r["end_time"]) else t0
        if r["event_type"] == "dark_period":
            t0, t1 = t0 - pd.Timedelta(hours=1), t0
        p = pos[(pos["mmsi"] == r["mmsi"]) & (pos["ts"] >= t0) & (pos["ts"] <= t1)
                & (pos["code"] >= 0)]
        rest.append(float(np.isin(p["code"], (1, 5)).mean()) if len(p) else np.nan)
    ev["port_km"] = np.round(km, 1)
    ev["port"] = name
    ev["rest_share"] = np.round(rest, 2)
    bad = inside | (np.nan_to_num(ev["rest_share"].to_numpy(float)) > 0.5)
    print(f"flagged {len(ev)}; in a port zone (<= 5 km of a table port) {int(inside.sum())}; "
          f"moored/at-anchor majority {int((np.nan_to_num(ev['rest_share']) > 0.5).sum())}; "
          f"either {int(bad.sum())}")
    cols = ["event_type", "mmsi", "other_mmsi", "start_time", "duration_h", "lat", "lon",
            "port", "port_km", "rest_share", "vessel_name", "vessel_type", "context",
            "anomaly_score"]
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.max_colwidth", 40, "display.max_rows", 500):
        print(ev[[c for c in cols if c in ev.columns]].to_string())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
