"""Rebuild ais/data/ports.csv from searoute's ports.geojson plus our DPRK / Russian Far East
additions (tools/ports_extra.csv). Run: python tools/build_ports.py PATH/TO/ports.geojson

searoute (https://github.com/genthalili/searoute-py, Apache-2.0) ships 3,962 ports with
UN/LOCODEs in searoute/data/ports.geojson; `pip download searoute --no-deps` gets it.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("name", "locode", "country", "lat", "lon", "radius_km", "source", "uncertainty_km")


def main(geojson: str) -> None:
    feats = json.loads(Path(geojson).read_text(encoding="utf-8"))["features"]
    rows = []
    for f in feats:
        p, (lon, lat) = f["properties"], f["geometry"]["coordinates"]
        rows.append({"name": p["name"], "locode": p["port"],
                     "country": str(p.get("cty") or "").replace("_", " "),
                     "lat": round(float(lat), 5), "lon": round(float(lon), 5),
                     "source": "searoute 1.6.0 ports.geojson (Apache-2.0)",
                     "radius_km": "", "uncertainty_km": 3.0})
    with open(ROOT / "tools" / "ports_extra.csv", encoding="utf-8") as fh:
        extra = list(csv.DictReader(fh))
    replaced = {r["locode"] for r in extra if r["locode"]}
    rows = [r for r in rows if r["locode"] not in replaced] + extra
    rows.sort(key=lambda r: (r["country"], r["name"], r["locode"]))
    out = ROOT / "ais" / "data" / "ports.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1])
