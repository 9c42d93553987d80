"""Generator look-alikes of ports, berths and waits that real AIS is full of (issue #13).

Each is recorded in the truth with kind "benign" and must not be flagged:

- ``port_stay``: a ship waiting two km off another port inside the watch area (Haeju near
  Nampo; Posyet near Najin), no navigational status sent;
- ``moored_dark``: a ship moored for days at Zarubino, status sent as the ITU number '5',
  that switches its AIS off for a night at the berth;
- ``harbour_pair``: two ships moored side by side at Posyet (no status) for the whole day;
- ``berth_stay``: a ship lying for the whole day at a quay next to land (< 1 km), 22-28 km
  from the nearest port (past the loitering rule's 20 km), no status;
- ``anchorage_wait``: five ships waiting at an offshore roadstead that no table knows (5-12 km
  from land, > 35 km from ports), no status: an anchorage only traffic reveals;
- ``at_anchor_numeric``: a ship at anchor in open water for hours, status the ITU number '1';
- ``fishing``: a squid jigger drifting at night, its ship type sent in one ping in ten.

:func:`add` builds the vessels (its own random stream, so the rest of a seed's world does not
change); :func:`finish` rewrites their statuses as numbers and drops their ship types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

LatLon = tuple[float, float]

#: Hand-picked points (checked against the shipped land grid and port table, see the test).
SPOTS: dict[str, dict[str, Any]] = {
    "Nampo": {
        "port": ("Haeju", (38.0040, 125.7328)),
        "berth": (38.8826, 125.1355),  # 0.5-1 km from land, 22 km from Taean
        "roadstead": (37.8223, 125.1255),  # 5 km from land, 56 km from Haeju
        "open": (38.05, 124.15),
        "mid": 445,
    },
    "Najin": {
        "port": ("Posyet", (42.6453, 130.8236)),
        "moored": ("Zarubino", (42.5993, 131.1396)),
        "pair": ("Posyet", (42.6674, 130.8063)),
        "berth": (42.0396, 130.0871),  # 0.5-1 km from land, 28 km from Najin
        "roadstead": (42.3318, 130.8681),  # 12 km from land, 36 km from Posyet
        "open": (41.55, 131.05),
        "mid": 273,
    },
}

_TO_CODE = {"under way using engine": "0", "at anchor": "1", "moored": "5",
            "engaged in fishing": "7"}


@dataclass
class Plan:
    """Which vessels :func:`finish` rewrites."""

    numeric_status: set[int] = field(default_factory=set)
    sparse_type: set[int] = field(default_factory=set)


def _near(rng: np.random.Generator, at: LatLon, metres: float) -> LatLon:
    east, north = rng.uniform(-metres, metres, 2)
    return (at[0] + north / 111_320.0,
            at[1] + east / (111_320.0 * np.cos(np.radians(at[0]))))


def add(g: Any, geos: list[Any], seed: int) -> Plan:
    """Add the look-alikes of every area in ``geos`` to the generator state ``g``."""
    from ais.synth.world import _KN_TO_KMH, _ts, haversine_km

    rng = np.random.default_rng([seed, 13])

    def gate(geo: Any) -> LatLon:
        return geo.gates[int(rng.integers(len(geo.gates)))]

    def arriving(geo: Any, mid: int, kind: str, to: LatLon, t_arrive: int,
                 speed_kn: float) -> Any:
        start = gate(geo)
        travel = haversine_km(start[0], start[1], to[0], to[1]) / (speed_kn * _KN_TO_KMH)
        v = g.new_vessel(mid, kind, "english", start, t_arrive - int(round(travel * 3600)))
        return v.sail(to=to, until=_ts(t_arrive))
    plan = Plan()
    t0, t_end = g.t0, g.t_end
    before, after = t0 - 6 * 3600, t_end + 3600

    def ship(mid: int, kind: str, style: str, at: LatLon, start: int) -> Any:
        return g.new_vessel(mid, kind, style, at, start)

    for geo in geos:
        spot = SPOTS[geo.name]
        mid = spot["mid"]
        port, at = spot["port"]
        v = ship(mid, "cargo", "korean", _near(rng, at, 200), before)
        v.wait(until=_ts(after), nav_status=None)
        g.row("port_stay", "benign", v.mmsi, t0, t_end, at, geo.name,
              f"waits all day 2 km off {port}")
        if port == "Haeju":  # a DPRK port: a call by issue #19's definition, still going on
            g.row("port_call", "anomaly", v.mmsi, t0, None, at, geo.name,
                  f"stopped all day 2 km off {port}")

        v = ship(mid, "cargo", "korean", spot["berth"], before)
        v.wait(until=_ts(after), nav_status=None)
        g.row("berth_stay", "benign", v.mmsi, t0, t_end, spot["berth"], geo.name,
              "lies at a quay next to land, 22-28 km from a port")

        road = spot["roadstead"]
        for _ in range(5):
            start = int(t0 + rng.uniform(0, 6) * 3600)
            hours = float(rng.uniform(8, 16))
            p = _near(rng, road, 400)
            v = arriving(geo, int(rng.choice([mid, 351, 667, 412])), "cargo", p, start,
                         float(rng.uniform(9, 12)))
            v.wait(hours=hours, nav_status=None).sail(to=gate(geo), speed_kn=10.0)
            g.row("anchorage_wait", "benign", v.mmsi, start, int(start + hours * 3600), road,
                  geo.name, f"waits {hours:.0f} h at an offshore roadstead with 4 others")

        start = int(t0 + rng.uniform(1, 4) * 3600)
        hours = float(rng.uniform(8, 14))
        v = arriving(geo, 667, "tanker", spot["open"], start, 10.0)
        v.anchor(hours=hours).sail(to=gate(geo), speed_kn=10.0)
        plan.numeric_status.add(v.mmsi)
        g.row("at_anchor_numeric", "benign", v.mmsi, start, int(start + hours * 3600),
              spot["open"], geo.name, f"at anchor {hours:.0f} h, status sent as '1'")

        jig = _near(rng, spot["open"], 15_000)
        v = g.new_vessel(412, "fishing", "fishing_cn", _near(rng, jig, 15_000),
                         int(t0 + 3600), imo=False)
        v.sail(to=jig, speed_kn=8.0).drift(hours=10, speed_kn=0.6, nav_status=None)
        v.sail(to=gate(geo), speed_kn=8.0)
        plan.sparse_type.add(v.mmsi)
        g.row("fishing", "benign", v.mmsi, t0, t_end, spot["open"], geo.name,
              "squid jigger drifting at night, ship type in one ping in ten")

        if "moored" in spot:
            port, at = spot["moored"]
            v = ship(mid, "cargo", "korean", at, before)
            dark_at = int(t0 + rng.uniform(8, 12) * 3600)
            v.moor(until=_ts(dark_at)).dark(hours=9.0, to=at).moor(until=_ts(after))
            plan.numeric_status.add(v.mmsi)
            g.row("moored_dark", "benign", v.mmsi, t0, t_end, at, geo.name,
                  f"moored for days at {port} (status '5'), AIS off 9 h at the berth")
        if "pair" in spot:
            port, at = spot["pair"]
            for k in range(2):
                v = ship(mid, "cargo", "korean", _near(rng, at, 30) if k else at, before)
                v.wait(until=_ts(after), nav_status=None)
                g.row("harbour_pair", "benign", v.mmsi, t0, t_end, at, geo.name,
                      f"moored side by side with another ship at {port}")
    return plan


def finish(pings: pd.DataFrame, plan: Plan, seed: int) -> pd.DataFrame:
    """Statuses of the planned vessels as ITU numbers, and their ship types dropped from
    nine pings in ten (pings are otherwise unchanged)."""
    if not plan.numeric_status and not plan.sparse_type:
        return pings
    out = pings.copy()
    rows = out["mmsi"].isin(plan.numeric_status).to_numpy()
    if rows.any():
        out.loc[rows, "nav_status"] = out.loc[rows, "nav_status"].map(
            lambda s: _TO_CODE.get(s, s) if isinstance(s, str) else s)
    rows = out["mmsi"].isin(plan.sparse_type).to_numpy()
    if rows.any():
        rng = np.random.default_rng([seed, 131])
        drop = rows & (rng.random(len(out)) >= 0.1)
        out.loc[drop, "ship_type"] = None
    return out
