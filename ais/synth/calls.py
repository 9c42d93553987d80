"""Generator pieces for issue #19: port calls at DPRK terminals and dark meetups.

Recorded in the truth with kind "anomaly":

- ``port_call``: a foreign-flagged tanker (or cargo ship at Najin) comes in from a gate by
  the approach lane, moors at a terminal (Nampo oil terminal; Najin piers 1-3) for 6-12 h and
  sails out again. (The background calls of :mod:`ais.synth.world` and the ship waiting off Haeju
  of :mod:`ais.synth.ports` are recorded as port calls where they are made.)
- ``dark_meetup``: a vessel (A) loiters at sea for 5-8 h while another (B), 20-35 km away,
  switches its AIS off three hours before A's wait begins and on again three hours after it
  ends, 20-35 km away on another side: B could have been alongside. A's ``loitering`` and B's
  ``dark_period`` are anomalies of their own and recorded as such.

:func:`add` builds the vessels from its own random stream (the rest of a seed's world does not
change). :func:`incidental_meetups` then records, from the generator's own positions, times
and the silent vessel's own top speed, every *other* pair of an injected loitering and a closed
dark period that the same geometry allows (the loitering as its pings show it: first to last
ping under 2 kn within it, since sparse satellite reports start it late) (a dark vessel of
another event that happened to be within reach of a loiterer): by the definition of a dark
meetup those are true, and the world says so rather than hide them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

LatLon = tuple[float, float]

TERMINALS: dict[str, tuple[str, LatLon, str]] = {
    # (terminal, berth, ship type): positions of the shipped port table's estimated rows
    "Nampo": ("Nampo oil terminal", (38.7198, 125.3712), "tanker"),
    "Najin": ("Najin piers 1-3", (42.2447, 130.2995), "cargo"),
}
#: Detour and speed rule of ``[dark_meetup]`` defaults, for the incidental pairs.
DETOUR, SLACK_H = 1.25, 0.5


def add(g: Any, geos: list[Any], seed: int) -> None:
    """Add one terminal call and one dark meetup per area to the generator state ``g``."""
    from ais.synth.world import _FOC, _destination, _to_s, _ts, haversine_km

    rng = np.random.default_rng([seed, 19])

    def uniform(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    for geo in geos:
        terminal, berth, kind = TERMINALS[geo.name]
        mid = int(rng.choice([m for m in _FOC if m != 445]))
        gate = geo.gates[int(rng.integers(len(geo.gates)))]
        v = g.new_vessel(mid, kind, "english", gate, g.t0 - int(uniform(2, 6) * 3600))
        for wp in geo.approach:
            v.sail(to=wp, speed_kn=uniform(9, 12))
        v.sail(to=berth, speed_kn=uniform(5, 7))
        t_in = _to_s(v.clock)
        v.moor(hours=uniform(6, 12))
        t_out = _to_s(v.clock)
        g.row("port_call", "anomaly", v.mmsi, t_in, t_out, berth, geo.name,
              f"{kind} at {terminal} {(t_out - t_in) / 3600:.1f} h")
        for wp in reversed(geo.approach):
            v.sail(to=wp, speed_kn=uniform(9, 12))
        v.sail(to=gate, speed_kn=uniform(10, 12))

        # dark meetup: A waits at p; B silent from b0 to b1 around it
        from ais.synth.world import _sea_point

        p = _sea_point(rng, geo, g.event_points[geo.name], min_sep_km=15.0)
        g.event_points[geo.name].append(p)
        hours = uniform(5, 8)
        ts = int(uniform(g.t0 + 6 * 3600, g.t_end - (hours + 5) * 3600)) // 60 * 60
        a = g.arriving(geo, int(rng.choice(_FOC)), "tanker", p, ts, uniform(9, 11))
        a.drift(hours=hours, speed_kn=uniform(0.2, 0.6))
        te = _to_s(a.clock)
        g.row("loitering", "anomaly", a.mmsi, ts, te, p, geo.name,
              f"waits {hours:.1f} h for a silent partner")
        g.leave(a, geo, uniform(9, 11))
        brg = uniform(0, 360)
        b0 = _destination(p[0], p[1], brg, uniform(20, 35))
        b1 = _destination(p[0], p[1], brg + uniform(90, 180), uniform(20, 35))
        speed = uniform(10, 12)
        t_dark = ts - 3 * 3600  # 35 km x 1.25 at 10 kn: 2.4 h, so B could make it either way
        t_back = te + 3 * 3600
        b = g.arriving(geo, 445 if rng.random() < 0.5 else int(rng.choice(_FOC)), "tanker",
                       b0, t_dark, speed)
        b.dark(until=_ts(t_back), to=b1)
        g.row("dark_period", "anomaly", b.mmsi, t_dark, t_back, b0, geo.name,
              f"silent {(t_back - t_dark) / 3600:.1f} h around a loitering partner")
        g.row("dark_meetup", "anomaly", b.mmsi, ts, te, p, geo.name,
              f"silent {haversine_km(*b0, *p):.0f} km / {haversine_km(*p, *b1):.0f} km "
              "from a loiterer", other=a.mmsi)
        g.leave(b, geo, speed)


def incidental_meetups(pings: pd.DataFrame, truth: list[dict[str, Any]],
                       max_speed_kn: float = 18.0, min_speed_kn: float = 8.0) -> None:
    """Append a ``dark_meetup`` truth row for every pair of an injected loitering and a
    closed injected dark period of another vessel that the reach rule allows (module
    docstring); ``truth`` rows use epoch seconds, as the generator keeps them."""
    from ais.synth.world import haversine_km

    have = {(r["mmsi"], r["other_mmsi"], r["start_time"]) for r in truth
            if r["event_type"] == "dark_meetup"}
    loit = [r for r in truth if r["event_type"] == "loitering" and r["kind"] == "anomaly"]
    dark = [r for r in truth if r["event_type"] == "dark_period" and r["kind"] == "anomaly"
            and r["end_time"] is not None]
    if not loit or not dark:
        return
    t_s = (pings["timestamp"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() \
        .to_numpy()
    mmsi = pings["mmsi"].to_numpy(np.int64)
    sog = pings["sog"].to_numpy(float)
    seen = {}  # each loitering as the data shows it: its first and last slow ping
    for a in loit:
        rows = np.flatnonzero((mmsi == a["mmsi"]) & (t_s >= a["start_time"] - 60)
                              & (t_s <= (a["end_time"] or 1e18) + 60) & (sog < 2.0))
        if len(rows):
            seen[id(a)] = (t_s[rows[0]], t_s[rows[-1]])
    for d in dark:
        rows = np.flatnonzero(mmsi == d["mmsi"])
        if not len(rows):
            continue
        tt = t_s[rows]
        before = rows[tt <= d["start_time"] + 60]
        after = rows[tt >= d["end_time"] - 60]
        if not len(before) or not len(after):
            continue
        i0, i1 = before[-1], after[0]
        v = float(np.clip(np.nanpercentile(sog[rows], 95), min_speed_kn, max_speed_kn)) * 1.852
        for a in loit:
            if a["mmsi"] == d["mmsi"] or (d["mmsi"], a["mmsi"], a["start_time"]) in have \
                    or id(a) not in seen:
                continue
            a0, a1 = seen[id(a)]
            if not (t_s[i0] <= a0 + SLACK_H * 3600 and t_s[i1] >= a1 - SLACK_H * 3600):
                continue
            out_h = (a0 + SLACK_H * 3600 - t_s[i0]) / 3600
            back_h = (t_s[i1] - (a1 - SLACK_H * 3600)) / 3600
            d0 = float(haversine_km(pings["lat"].iat[i0], pings["lon"].iat[i0], a["lat"],
                                    a["lon"]))
            d1 = float(haversine_km(a["lat"], a["lon"], pings["lat"].iat[i1],
                                    pings["lon"].iat[i1]))
            if d0 * DETOUR / v <= out_h and d1 * DETOUR / v <= back_h:
                truth.append(dict(a, event_type="dark_meetup", mmsi=d["mmsi"],
                                  other_mmsi=a["mmsi"],
                                  note=f"incidental: silent vessel {d0:.0f} km / {d1:.0f} km "
                                       "from the loiterer, within reach"))
