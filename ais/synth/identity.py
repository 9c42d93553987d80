"""Identity games for the synthetic world (issue 15), with their truth.

Added to every world by :func:`ais.synth.world.generate` (its own random stream, drawn after every
other part, so the rest of a seed's world is unchanged):

- a **name-cycling fishing fleet on an unallocated MID** (150) trawling in open water, whose
  names and call signs are sent only in occasional static reports: renames dated at the first
  report of the new name (anomaly), a chain of two renames, a rename seen in a single report
  at the end of the day, and names **cut short** in some reports (benign ``truncated_name``);
  half of the static reports arrive as a **second row at the same (mmsi, time)** as a position
  report, carrying the name the position row lacks;
- its **net buoys** (benign ``fishing_gear``): names with a battery level that drops every few
  hours, one on an ITU ``98MID`` gear MMSI, drifting beside the fleet;
- a **yacht with two transponders** (anomaly ``identity_change``, ``other_mmsi`` the first
  MMSI): the same positions, name and call sign under two MMSIs at the same times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: the unallocated MID the fleet and its buoys broadcast (no flag State has 150)
FLEET_MID = 150
STATIC_EVERY_H = 2.0


def add(g: Any, geos: Sequence[Any]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Add the fleet, buoys and yacht to ``g`` (a ``ais.synth.world._Gen``) before it renders; the
    returned function turns the rendered pings into what the receivers heard (static-only
    identities, duplicate rows, the second transponder) and completes the truth."""
    from ais.synth.world import _destination, _sea_point, _to_s, _ts

    rng = np.random.default_rng([g.sc.seed, 15])
    plans: list[dict[str, Any]] = []
    buoys: list[int] = []
    for geo in geos:
        centre = _sea_point(rng, geo, g.event_points[geo.name], min_sep_km=12.0)
        g.event_points[geo.name].append(centre)
        start = g.t0 - 3600
        hours = (g.t_end - start) / 3600 + 1
        for k in range(4):
            at = _destination(*centre, float(rng.uniform(0, 360)), float(rng.uniform(0.5, 2.5)))
            name, cs = g.ids.name("fishing_cn"), g.ids.callsign(412)
            v = g.sc.vessel(g.ids.mmsi(FLEET_MID), name, callsign=cs, ship_type="fishing",
                            start=_ts(start), at=at, report_every_s=g.every)
            speed = float(rng.uniform(2.0, 3.0))
            # vessel 0: two renames (a chain); 1: one rename seen in a single static report
            # at the very end; 2: names cut short in some reports; 3: plain
            schedule: dict[int, list[float | None]] = {0: [0.3, 0.65], 1: [None], 2: [], 3: []}
            renames = schedule[k]
            t = start
            plan = {"mmsi": v.mmsi, "truth": [], "cut": k == 2, "name": name,
                    "area": geo.name}
            for frac in renames:
                when = (g.t_end - 50 * 60 if frac is None
                        else int(g.t0 + frac * (g.t_end - g.t0)))
                v.trawl(hours=(when - t) / 3600, speed_kn=speed, around=centre)
                t = _to_s(v.clock)
                old = v.name
                v.rename(name=g.ids.name("fishing_cn"), callsign=g.ids.callsign(412))
                g.row("identity_change", "anomaly", v.mmsi, t, t, v.position, geo.name,
                      f"fleet on unallocated MID {FLEET_MID}: name {old} -> {v.name} "
                      "(static reports only)")
                plan["truth"].append((g.truth[-1], v.name))
            v.trawl(hours=max(hours - (t - start) / 3600, 1.0), speed_kn=speed, around=centre)
            plans.append(plan)
        for j in range(3):
            mmsi = (int(f"98{FLEET_MID}{int(rng.integers(1000, 9999))}") if j == 2
                    else g.ids.mmsi(FLEET_MID))
            label = f"{plans[-4 + j]['name'].split()[0]} {j + 1}"
            at = _destination(*centre, float(rng.uniform(0, 360)), float(rng.uniform(0.2, 1.5)))
            b = g.sc.vessel(mmsi, f"{label}-{89 - j}%" if j < 2 else f"{label} NET",
                            ship_type=None, start=_ts(start), at=at,
                            report_every_s=3 * g.every)
            for step in range(int(hours // 3)):
                b.drift(hours=3, speed_kn=float(rng.uniform(0.2, 0.6)))
                if j < 2:
                    b.rename(name=f"{label}-{88 - j - step}%")
            b.drift(hours=hours % 3 + 1, speed_kn=0.3)
            g.row("fishing_gear", "benign", mmsi, g.t0, g.t_end, centre, geo.name,
                  f"net buoy of the fleet on MID {FLEET_MID}: battery level or gear word in "
                  "its name")
            buoys.append(mmsi)
    yacht = _yacht(g, geos[0], rng)

    def finish(pings: pd.DataFrame) -> pd.DataFrame:
        out = _static_only(pings, plans, g, rng)
        return _second_transponder(out, yacht, g)

    return finish


def _yacht(g: Any, geo: Any, rng: np.random.Generator) -> dict[str, Any]:
    from ais.synth.world import _sea_point, _to_s, _ts

    a = _sea_point(rng, geo, g.event_points[geo.name], min_sep_km=12.0)
    g.event_points[geo.name].append(a)
    t = int(g.t0 + rng.uniform(2, 8) * 3600)
    v = g.sc.vessel(g.ids.mmsi(440), g.ids.name("english"), callsign=g.ids.callsign(440),
                    ship_type="pleasure", start=_ts(t), at=a, report_every_s=g.every)
    # from open water out along a sea lane (the way the generator's traffic leaves)
    v.sail(to=geo.gates[int(rng.integers(len(geo.gates)))], speed_kn=float(rng.uniform(6, 9)))
    second = g.ids.mmsi(440)
    g.row("identity_change", "anomaly", second, t, _to_s(v.clock), a, geo.name,
          f"one yacht, two transponders: {v.mmsi} and {second} report together", other=v.mmsi)
    return {"first": v.mmsi, "second": second}


def _static_only(pings: pd.DataFrame, plans: list[dict[str, Any]], g: Any,
                 rng: np.random.Generator) -> pd.DataFrame:
    """The fleet's identities only in static reports (the first position of each
    ``STATIC_EVERY_H`` and the first after a rename), half of them as a second row at the
    same (mmsi, time) with the name; some of vessel 2's reports cut its name short."""
    fleet = pings["mmsi"].isin([p["mmsi"] for p in plans]).to_numpy()
    if not fleet.any():
        return pings
    p = pings.copy()
    t_s = (p["timestamp"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    bucket = np.floor((t_s - g.t0) / (STATIC_EVERY_H * 3600)).to_numpy()
    key = p["mmsi"].to_numpy()
    order = np.lexsort((t_s.to_numpy(), key))
    k, b, n = key[order], bucket[order], p["name"].to_numpy(dtype=object)[order]
    first = np.r_[True, (k[1:] != k[:-1]) | (b[1:] != b[:-1]) | (n[1:] != n[:-1])]
    static = np.zeros(len(p), dtype=bool)
    static[order[first]] = True
    static &= fleet
    for plan in plans:
        mine = np.flatnonzero(static & (key == plan["mmsi"]))
        for truth, new_name in plan["truth"]:  # the rename is first heard in this report
            heard = p.iloc[mine].loc[lambda f, nn=new_name: f["name"] == nn, "timestamp"]
            if len(heard):
                truth["end_time"] = int(heard.min().timestamp())
        if plan["cut"] and len(mine) > 1:
            rows = mine[1::3]
            names = p.loc[p.index[rows], "name"].astype(str)
            cut = [s.split()[-1] if i % 2 else s[:2] for i, s in enumerate(names)]
            p.loc[p.index[rows], "name"] = cut
            first = p.iloc[rows[0]]
            g.row("truncated_name", "benign", plan["mmsi"], int(first["timestamp"].timestamp()),
                  g.t_end, (float(first["lat"]), float(first["lon"])), plan["area"],
                  f"names cut short in some static reports: {sorted(set(cut))}")
    for col in ("name", "callsign"):
        p.loc[fleet & ~static, col] = None
    # half the static reports come as their own row at the position report's time
    twin = np.flatnonzero(static)[::2]
    extra = p.iloc[twin].copy()
    extra["lat"] = extra["lat"] + 1e-5
    p.loc[p.index[twin], ["name", "callsign"]] = None
    out = pd.concat([p, extra], ignore_index=True)
    return out.sort_values(["timestamp", "mmsi"], kind="stable", ignore_index=True)


def _second_transponder(pings: pd.DataFrame, yacht: dict[str, Any], g: Any) -> pd.DataFrame:
    """The yacht's second set: the same track 20 s later and 15 m off, from its 6th report."""
    mine = pings[pings["mmsi"] == yacht["first"]].iloc[5:]
    if mine.empty:
        return pings
    second = mine.assign(mmsi=yacht["second"], lat=mine["lat"] + 0.000135,
                         timestamp=mine["timestamp"] + pd.Timedelta(seconds=20))
    second = second[second["timestamp"] < pd.Timestamp(g.t_end, unit="s", tz="UTC")]
    for truth in g.truth:
        if truth["mmsi"] == yacht["second"] and len(second):
            truth["start_time"] = int(second["timestamp"].min().timestamp())
            truth["end_time"] = int(second["timestamp"].max().timestamp())
    out = pd.concat([pings, second], ignore_index=True)
    return out.sort_values(["timestamp", "mmsi"], kind="stable", ignore_index=True)
