"""Synthetic worlds as foreign data looks: edges, satellite reporters, receiver holes, harbours.

Our own synthetic days keep every vessel in view, reporting every two minutes. Real data is a
regional extract with edges that ships cross (and come back across), satellite-only vessels
heard every 15-45 minutes, terrestrial receivers that hear nothing in some waters, and small
fishing harbours where boats switch off for the night. :func:`add` puts these into a world
being built by :func:`ais.synth.world.generate` (before it is rendered), :func:`cut` cuts the
rendered pings to the extract (a circle of :data:`EXTRACT_KM` around each area's port, as a
user's download around a port is), and both record truth rows:

* benign look-alikes of dark periods: ``edge_crossing`` (sails out of the extract and comes
  back across its edge), ``satellite_gap`` (a satellite reporter not heard for 7-9 h, its
  satellite passes missed, in open water where others report), ``receiver_hole`` (a vessel
  crossing waters no receiver hears, at 5-6 kn, silent for 7-9 h), ``harbour_night`` (a
  fishing boat switched off overnight at its berth in a small harbour that is no configured
  port); of loitering and meetups: ``sparse_reporter`` (satellite-reported transits);
* anomalies that only sparse reporting shows: a 9 h drift at sea reported every 15-45
  minutes (``loitering``) and two satellite reporters side by side for hours (``meetup``).

Every draw comes from the world's seeded generator, so the same seed gives the same world.
Harbour positions were checked against the GLOBE 1 km land grid (sea at the point, land
within 2 km); they are illustrative, not surveyed harbours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ais.synth.world import _Gen, _Geo

#: Radius (km) of the extract around each area's port.
EXTRACT_KM = 150.0
#: A satellite reporter's intervals are drawn in this range (seconds) ...
SATELLITE_EVERY_S = (900.0, 2700.0)
#: ... and this share of its satellite passes are missed (the interval runs on to the next).
MISSED_PASS_SHARE = 0.25
#: Satellite reporters are rendered this often, then thinned to their passes by :func:`cut`.
_DENSE_S = 300.0

#: Small fishing harbours (sea, land within 2 km, 65-85 km from the area's port).
HARBOURS: dict[str, tuple[float, float]] = {"Nampo": (37.997, 125.06), "Najin": (41.773, 129.82)}
#: Bearings from each harbour whose way out (8-14 km) and fishing ground are sea on that grid.
HARBOUR_SEAWARD_DEG: dict[str, tuple[float, float]] = {"Nampo": (265.0, 295.0),
                                                       "Najin": (155.0, 185.0)}
#: Open water a receiver does not hear (centre, radius km), away from the events' box.
#: (Sea to 50 km around them on the same grid; 100 km from the port, 45 km inside the extract.)
RECEIVER_HOLES: dict[str, tuple[tuple[float, float], float]] = {
    "Nampo": ((39.25, 124.45), 30.0), "Najin": ((41.35, 130.70), 30.0),
}


def _sparse_every(g: _Gen) -> float:
    """The rendering interval of a satellite reporter (``cut`` thins it to its passes)."""
    del g
    return _DENSE_S


def _vessel(g: _Gen, mid: int, ship_type: str, style: str, at: Any, start: int,
            every: float) -> Any:
    from ais.synth.world import _ts

    return g.sc.vessel(g.ids.mmsi(mid), g.ids.name(style), callsign=g.ids.callsign(mid),
                       imo=g.ids.imo(), ship_type=ship_type, start=_ts(start), at=at,
                       report_every_s=every)


def _edge_crossing(g: _Gen, geo: _Geo) -> None:
    """Sails out across the extract's edge, turns outside and comes back in elsewhere."""
    from ais.synth.world import _bearing_deg, _destination, _in_box, _to_s

    port = (geo.port.lat, geo.port.lon)
    out_gate, back_gate = (geo.gates[int(k)] for k in g.rng.choice(len(geo.gates), 2,
                                                                     replace=False))
    start = g.t0 + int(g.uniform(0.5, 4) * 3600)
    v = _vessel(g, int(g.rng.choice(geo.local_mids)), "cargo", "english",
                _in_box(g.rng, geo.event_box), start, g.every)
    speed = g.uniform(10, 13)
    beyond = _destination(*port, _bearing_deg(*port, *out_gate), EXTRACT_KM + g.uniform(30, 60))
    v.sail(to=beyond, speed_kn=speed)
    v.wait(hours=g.uniform(1, 4))
    back = _destination(*port, _bearing_deg(*port, *back_gate), EXTRACT_KM + g.uniform(20, 40))
    v.sail(to=back, speed_kn=speed)
    t_out = _to_s(v.clock)
    v.sail(to=_in_box(g.rng, geo.event_box), speed_kn=speed)
    g.leave(v, geo, speed)
    g.row("edge_crossing", "benign", v.mmsi, start, t_out, beyond, geo.name,
          "sails out across the extract's edge and comes back in elsewhere")


def _sparse_transit(g: _Gen, geo: _Geo) -> None:
    from ais.synth.world import _in_box

    a, b = (geo.gates[int(k)] for k in g.rng.choice(len(geo.gates), 2, replace=False))
    every = _sparse_every(g)
    start = g.t0 - int(g.uniform(0, 6) * 3600)
    v = _vessel(g, int(g.rng.choice(geo.local_mids)), "cargo", "english", a, start, every)
    v.sail(to=_in_box(g.rng, geo.event_box), speed_kn=g.uniform(9, 12))
    v.sail(to=b, speed_kn=g.uniform(9, 12))
    g.sparse.append(v.mmsi)
    g.row("sparse_reporter", "benign", v.mmsi, start, None, a, geo.name,
          "satellite-only reporter, every 15-45 min")


def _satellite_gap(g: _Gen, geo: _Geo) -> None:
    """A satellite reporter drifting slowly (fishing), whose satellite passes are missed for
    7-9 h: a long silence for a dense reporter, not for one heard every half hour."""
    from ais.synth.world import _sea_point, _to_s

    p = _sea_point(g.rng, geo, g.event_points[geo.name])
    g.event_points[geo.name].append(p)
    start = g.t0 - 3600
    v = _vessel(g, int(g.rng.choice(geo.local_mids)), "fishing", "fishing_kp", p, start,
                _sparse_every(g))
    g.sparse.append(v.mmsi)
    v.trawl(hours=g.uniform(4, 7), speed_kn=3.0, around=p)
    t_gap = _to_s(v.clock)
    hours = g.uniform(7, 9)
    v.dark(hours=hours)
    g.row("satellite_gap", "benign", v.mmsi, t_gap, _to_s(v.clock), p, geo.name,
          f"satellite passes missed {hours:.1f} h (reports every 15-45 min)")
    v.trawl(hours=(g.t_end - _to_s(v.clock)) / 3600 + 1, speed_kn=3.0, around=p)


def _receiver_hole(g: _Gen, geo: _Geo) -> None:
    """Waters no receiver hears (all day; :func:`cut` removes the pings there), a slow vessel
    crossing them and two boats fishing at their edges (heard all along)."""
    from ais.synth.world import _destination, _to_s

    centre, radius = RECEIVER_HOLES[geo.name]
    brg = g.uniform(60, 140)  # a crossing (and 30 km on) that stays at sea in both areas
    a = _destination(*centre, brg, radius + 15)
    b = _destination(*centre, brg + 180, radius + 15)
    for edge in (a, b):
        boat = _vessel(g, 445, "fishing", "fishing_kp", edge, g.t0 - 3600, g.every)
        boat.trawl(hours=(g.t_end - g.t0) / 3600 + 2, speed_kn=2.5, around=edge)
    speed = g.uniform(4.3, 4.6)
    start = g.t0 + int(g.uniform(1, 4) * 3600)
    v = _vessel(g, int(g.rng.choice(geo.local_mids)), "cargo", "korean", a, start, g.every)
    edge_s = int(15 / (speed * 1.852) * 3600)
    v.sail(to=b, speed_kn=speed)
    g.row("receiver_hole", "benign", v.mmsi, start + edge_s, _to_s(v.clock) - edge_s, centre,
          geo.name, f"crosses {2 * radius:.0f} km of water no receiver hears at {speed:.1f} kn")
    v.sail(to=_destination(*b, brg + 180, 30), speed_kn=speed)


def _harbour_nights(g: _Gen, geo: _Geo) -> None:
    """Two boats of a small harbour: one switches off overnight at its berth, the other
    fishes nearby around the clock (so reception there is plainly good)."""
    from ais.synth.world import _destination, _to_s

    berth = HARBOURS[geo.name]
    ground = _destination(*berth, g.uniform(*HARBOUR_SEAWARD_DEG[geo.name]),
                          g.uniform(8, 14))
    mid = 445
    night = _vessel(g, mid, "fishing", "fishing_kp", berth, g.t0 + 3600, g.every)
    worker = _vessel(g, mid, "fishing", "fishing_kp", ground, g.t0 - 3 * 3600, g.every)
    worker.trawl(hours=(g.t_end - g.t0) / 3600 + 4, speed_kn=2.5, around=ground)
    night.moor(hours=1)
    t = _to_s(night.clock)
    while t < g.t_end:
        night.sail(to=ground, speed_kn=8).trawl(hours=g.uniform(5, 7), speed_kn=2.5,
                                                around=ground)
        night.sail(to=berth, speed_kn=8).moor(hours=0.5)
        t_off = _to_s(night.clock)
        hours = g.uniform(9, 12)
        night.dark(hours=hours, to=berth).moor(hours=0.5)
        g.row("harbour_night", "benign", night.mmsi, t_off, _to_s(night.clock) - 1800, berth,
              geo.name, f"AIS off {hours:.1f} h overnight at its berth")
        t = _to_s(night.clock)


def _sparse_loitering(g: _Gen, geo: _Geo) -> None:
    """A 9 h drift at sea reported by satellite every 15-45 minutes: loitering."""
    from ais.synth.world import _FOC, _sea_point, _to_s

    p = _sea_point(g.rng, geo, g.event_points[geo.name])
    g.event_points[geo.name].append(p)
    hours = g.uniform(8, 10)
    ts = g.event_time(hours, lead_h=2)
    gate = geo.gates[int(g.rng.integers(len(geo.gates)))]
    speed = g.uniform(9, 12)
    from ais.synth.world import haversine_km

    travel = float(haversine_km(*gate, *p)) / (speed * 1.852) * 3600
    v = _vessel(g, int(g.rng.choice(_FOC)), "tanker", "english", gate, ts - int(travel),
                _sparse_every(g))
    from ais.synth.world import _ts

    g.sparse.append(v.mmsi)
    v.sail(to=p, until=_ts(ts)).drift(hours=hours, speed_kn=g.uniform(0.2, 0.7))
    g.row("loitering", "anomaly", v.mmsi, ts, _to_s(v.clock), p, geo.name,
          f"satellite-reported drift {hours:.1f} h (every 15-45 min)")
    v.sail(to=gate, speed_kn=speed)


def _sparse_meetup(g: _Gen, geo: _Geo, apart: bool = False) -> None:
    """Two satellite reporters side by side at sea for 4-7 h: a meetup (``apart``: drifting
    together 800-1,200 m apart for 5.5-7.5 h, a look-alike that no rule of 500 m may flag,
    each vessel loitering)."""
    from ais.synth.world import _FOC, _destination, _sea_point, _to_s

    p = _sea_point(g.rng, geo, g.event_points[geo.name])
    g.event_points[geo.name].append(p)
    hours = g.uniform(5.5, 7.5) if apart else g.uniform(4, 7)
    ts = g.event_time(hours, lead_h=3)
    a = _vessel(g, int(g.rng.choice(_FOC)), "tanker", "english",
                _destination(*p, g.uniform(0, 360), 25), ts - 3 * 3600, _sparse_every(g))
    b = _vessel(g, 445, "tanker", "korean", _destination(*p, g.uniform(0, 360), 25),
                ts - 3 * 3600, _sparse_every(g))
    g.sparse.extend([a.mmsi, b.mmsi])
    m = g.sc.meetup(a, b, at=p, hours=hours,
                    distance_m=g.uniform(800, 1200) if apart else g.uniform(90, 250),
                    speed_kn=g.uniform(0.3, 1.0), approach_speed_kn=8)
    if apart:  # not a meetup; each of the two loiters, though
        g.row("satellite_neighbours", "benign", a.mmsi, _to_s(m.start), _to_s(m.end), p,
              geo.name, f"satellite reporters drifting {m.distance_m:.0f} m apart for "
              f"{hours:.1f} h: not a meetup", other=b.mmsi)
        for v in (a, b):
            g.row("loitering", "anomaly", v.mmsi, _to_s(m.start), _to_s(m.end), p, geo.name,
                  f"satellite-reported drift {hours:.1f} h beside a vessel "
                  f"{m.distance_m:.0f} m off")
    else:
        g.row("meetup", "anomaly", a.mmsi, _to_s(m.start), _to_s(m.end), p, geo.name,
              f"satellite reporters side by side {m.distance_m:.0f} m for {hours:.1f} h",
              other=b.mmsi)
    for v in (a, b):
        v.sail(to=geo.gates[int(g.rng.integers(len(geo.gates)))], speed_kn=g.uniform(8, 11))


def add(g: _Gen, geos: list[_Geo], benign: bool = True, sparse_meetups: int = 1
        ) -> list[int]:
    """Put the look-alikes (when ``benign``) and the sparse anomalies into each area of a
    world being built; returns the MMSIs of the satellite reporters (for :func:`cut`).

    ``sparse_meetups`` above 1 adds that many more satellite meetups, alternating between
    the areas, each with (when ``benign``) a pair of satellite reporters drifting together
    800-1,200 m apart; they are drawn after everything else, so the default world is the
    same as without them.
    """
    g.sparse = []
    for k, geo in enumerate(geos):
        if benign:
            for _ in range(2):
                _edge_crossing(g, geo)
            for _ in range(3):
                _sparse_transit(g, geo)
            _satellite_gap(g, geo)
            _receiver_hole(g, geo)
            _harbour_nights(g, geo)
        _sparse_loitering(g, geo)
        if k == len(geos) - 1:
            _sparse_meetup(g, geo)
    for k in range(sparse_meetups - 1):
        _sparse_meetup(g, geos[k % len(geos)])
        if benign:
            _sparse_meetup(g, geos[k % len(geos)], apart=True)
    return list(g.sparse)


def _passes(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of the reports a satellite hears: intervals drawn in SATELLITE_EVERY_S, a
    share of passes missed (a loop over the passes of one vessel, not over pings)."""
    kept = [0]
    while True:
        step = rng.uniform(*SATELLITE_EVERY_S)
        while rng.random() < MISSED_PASS_SHARE:
            step += rng.uniform(*SATELLITE_EVERY_S)
        j = int(np.searchsorted(t, t[kept[-1]] + step))
        if j >= len(t):
            return np.asarray(kept)
        kept.append(j)


def cut(cols: dict[str, np.ndarray], geos: list[_Geo], sparse: list[int],
        rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The rendered pings a user's extract holds: within :data:`EXTRACT_KM` of an area's
    port, outside the waters no receiver hears (:data:`RECEIVER_HOLES`), and of the
    satellite reporters only the passes a satellite heard."""
    from ais.synth.world import haversine_km

    keep = np.zeros(len(cols["t"]), dtype=bool)
    for geo in geos:
        keep |= haversine_km(cols["lat"], cols["lon"], geo.port.lat, geo.port.lon) <= EXTRACT_KM
    for geo in geos:
        (lat, lon), radius = RECEIVER_HOLES[geo.name]
        keep &= haversine_km(cols["lat"], cols["lon"], lat, lon) > radius
    for mmsi in sparse:
        rows = np.flatnonzero(cols["mmsi"] == mmsi)
        rows = rows[np.argsort(cols["t"][rows], kind="stable")]
        heard = np.zeros(len(cols["t"]), dtype=bool)
        if len(rows):
            heard[rows[_passes(cols["t"][rows], rng)]] = True
        keep &= heard | (cols["mmsi"] != mmsi)
    return cols if keep.all() else {k: v[keep] for k, v in cols.items()}
