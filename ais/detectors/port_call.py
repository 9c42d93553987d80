"""Port calls: a seagoing vessel enters a port zone, stops, and leaves (GFW port visits).

Method (vectorised over pings; loops run over calls only):

1. Pings are first tested against a coarse grid of 0.1-degree cells that lie within reach of
   a port point (the port table with its DPRK terminals and piers, and the configured ports);
   only the few pings in those cells are measured exactly (a k-d tree on the sphere).
2. **Zone** with GFW's hysteresis: a vessel enters a port zone at a ping within
   ``[port_call] enter_km`` (3 km) of a port point and leaves it at a ping beyond ``leave_km``
   (4 km); in between it keeps its state. A visit is a run of in-zone pings of one track.
3. **Stop** with GFW's hysteresis: a stop starts at a ping slower than ``stop_start_kn``
   (0.2 kn) and ends at one faster than ``stop_end_kn`` (0.5 kn); without a reported speed
   the speed from the previous ping is used. A visit whose stopped pings span at least
   ``min_stop_h`` is a call: ``start_time`` is the first stopped ping (arrival),
   ``end_time`` the last stopped ping (departure), empty while the vessel is still in the zone
   at its last ping (``is_open``), and the berth position is the median of the stopped pings.
4. The **port** is the nearest port point without a radius of its own (Nampo, Najin, ...);
   the **terminal** is the pier or terminal row of the table (Nampo oil terminal, container
   pier, coal pier, Najin piers 1-3: estimated positions, each with its source in
   ``ais/data/ports.csv``) whose own radius holds the berth, else empty.
5. **Voyage legs**: ``previous_port`` / ``next_port`` are the ports of the same vessel's
   calls before and after (at any port of the table), empty when the data does not show one.
6. **Draught** before and after: the last reported draught at or before arrival and the
   first at or after departure (``draught_change_m`` > 0: loaded in port).

Who: tugs, pilots, port service craft, vessels reporting a length under ``min_length_m`` and
fishing boats in a port of their own flag (home-port craft; a foreign trawler in a DPRK port
does call) never make a call (read with :func:`ais.judging.waits.vessel_roles`, which reads any
ping's type,
status and name, so missing ship types are survived). Only calls at a DPRK port of the table
or at a configured port (the watched ports) are rows, unless ``cfg.everywhere``.

Scoring: too few calls exist in any baseline for a forest, and every DPRK call is of interest
under the UN resolutions, so :func:`rule_score` gives a documented score: 0.5, plus 0.3 for a
foreign-flagged tanker at an oil terminal, 0.1 for any foreign flag at a DPRK port, 0.2 when a
dark period of the vessel ends or starts within ``dark_window_h`` of the call, 0.25 when the
vessel changed identity during the call, 0.05 for a reported draught change; at most 1.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import EARTH_RADIUS_KM
from ais.events import conform
from ais.geography.geo import SphereTree
from ais.geography.ports import port_table
from ais.tracking.coverage import DataWindow
from ais.tracking.tracks import CHUNK_ROWS, epoch_ns, vessel_rows

#: What this detector finds, its id prefix (``PRT-...``), the colour of its
#: events on maps, exports and the report, and what ``other_mmsi`` is to it.
EVENT_TYPE = "port_call"
ID_PREFIX = "PRT"
COLOUR = "#4daf4a"
OTHER_ROLE = ""
#: At sea by definition: a candidate on land or at a berth is a wait (:mod:`ais.judging.waits`).
AT_SEA = False
FEATURES: tuple[str, ...] = ()
#: No forest: too few calls in any baseline; :func:`rule_score` scores (see the docstring).
FOREST = False
#: Candidates of other types this one reads after they are found (context and score).
NEEDS: tuple[str, ...] = ()
WATCHED_COUNTRY = "North korea"
_CELL_DEG = 0.1


@functools.lru_cache(maxsize=4)
def _ports(places: tuple, table: bool) -> pd.DataFrame:
    """Every port point: name, lat, lon, own radius (NaN for a port), country, watched, and
    the port it belongs to (a terminal's nearest port point without a radius)."""
    rows = [dict(name=p.name, lat=p.lat, lon=p.lon, radius_km=np.nan, country="",
                 locode="", watched=True) for p in places if p.kind == "port"]
    frame = pd.DataFrame(rows, columns=["name", "lat", "lon", "radius_km", "country",
                                        "locode", "watched"])
    if table:
        t = port_table()
        frame = pd.concat([frame, t.assign(watched=t["country"] == WATCHED_COUNTRY)[
            frame.columns]], ignore_index=True)
    frame = frame.drop_duplicates(["name"], keep="last").reset_index(drop=True)
    terminal = frame["radius_km"].notna().to_numpy()
    frame["port"] = frame["name"]
    if terminal.any() and (~terminal).any():
        main = frame[~terminal]
        for i in np.flatnonzero(terminal):  # a handful of piers
            d = _hav(frame.at[i, "lat"], frame.at[i, "lon"], main["lat"].to_numpy(),
                     main["lon"].to_numpy())
            frame.at[i, "port"] = main["name"].iloc[int(np.argmin(d))]
    frame["terminal"] = np.where(terminal, frame["name"], "")
    # a country's ISO 3166 code from its UN/LOCODEs (the first two letters), for every row
    coded = frame[frame.get("locode", pd.Series("", index=frame.index)).fillna("").str.len()
                  >= 2] if "locode" in frame.columns else frame.iloc[:0]
    iso = (coded.assign(iso2=coded["locode"].str[:2]).groupby("country")["iso2"]
           .agg(lambda x: x.mode().iloc[0]) if len(coded) else pd.Series(dtype=str))
    frame["iso2"] = frame["country"].map(iso).fillna("")
    watched_ports = set(frame.loc[frame["watched"], "port"])
    frame["watched"] = frame["port"].isin(watched_ports)
    return frame


def _hav(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (np.sin((p2 - p1) / 2) ** 2
         + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.asarray(lon2) - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


@functools.lru_cache(maxsize=4)
def _index(places: tuple, table: bool, reach_km: float):  # noqa: ANN202 (tree, cells)
    ports = _ports(places, table)
    tree = SphereTree(ports["lat"].to_numpy(float), ports["lon"].to_numpy(float))
    # cells within reach of a port point: the point's cell and its neighbours (a cell is at
    # least 0.1 deg of latitude, 11 km, wider than reach_km; longitude cells narrow towards
    # the poles, so enough neighbours are added for the latitude)
    cells = set()
    for lat, lon in ports[["lat", "lon"]].to_numpy(float):
        ci, cj = int(np.floor(lat / _CELL_DEG)), int(np.floor(lon / _CELL_DEG))
        width_km = _CELL_DEG * 111.2 * max(np.cos(np.radians(min(abs(lat) + 0.2, 89.0))), 0.01)
        dj = int(np.ceil(reach_km / width_km))
        for a in (-1, 0, 1):
            for b in range(-dj, dj + 1):
                cells.add((ci + a) * 10_000 + (cj + b))
    return ports, tree, np.array(sorted(cells), dtype=np.int64)


def _ffill_state(value: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """Hysteresis: ``value`` is 1, 0 or -1 (keep the previous state); the state starts at 0
    at each ``reset`` row. Vectorised forward fill."""
    known = (value >= 0) | reset
    idx = np.where(known, np.arange(len(value)), 0)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(value >= 0, value, 0)
    return filled[idx].astype(bool)


def detect(tracks: pd.DataFrame, cfg: Config, window: DataWindow | None = None
           ) -> pd.DataFrame:
    """Port-call rows (see the module docstring); ``tracks`` is not modified.

    ``window``: the time span of the whole scan (:func:`ais.tracking.coverage.data_window`);
    a call is open only near its end, so a partition of a larger scan passes the whole's
    (by default, the span of ``tracks``)."""
    calls = find_calls(tracks, cfg, window)
    if calls.empty:
        return conform(pd.DataFrame(), "port_call", FEATURES)
    if not cfg.everywhere:
        calls = calls[calls["watched"]]
    return conform(calls.drop(columns=["watched"]).reset_index(drop=True), "port_call",
                   FEATURES)


def find_calls(tracks: pd.DataFrame, cfg: Config, window: DataWindow | None = None
               ) -> pd.DataFrame:
    """Every call at every port (watched or not), with voyage legs."""
    pc = cfg.port_call
    if tracks.empty:
        return pd.DataFrame()
    ports, tree, cells = _index(tuple(cfg.places), cfg.ports.table, pc.leave_km)
    a = _arrays(tracks)
    lat, lon = a["lat"], a["lon"]
    rows = _near_cells(lat, lon, cells)
    if not len(rows):
        return pd.DataFrame()
    dist, port_i = tree.nearest(lat[rows], lon[rows])
    mmsi = a["mmsi"][rows]
    track = a["track"][rows]
    # a new run of candidate pings: not the next row of the frame, or another track
    reset = np.ones(len(rows), dtype=bool)
    reset[1:] = (np.diff(rows) != 1) | (mmsi[1:] != mmsi[:-1]) | (track[1:] != track[:-1])
    zone = _ffill_state(np.where(dist <= pc.enter_km, 1, np.where(dist >= pc.leave_km, 0, -1)),
                        reset)
    zone_start = zone & (reset | np.r_[True, ~zone[:-1]])
    visit = np.cumsum(zone_start) - 1
    sel = np.flatnonzero(zone)
    if not len(sel):
        return pd.DataFrame()
    r = rows[sel]
    visit = visit[sel]
    sog = a["sog"][r]
    step_kn = a["step_km"][r] / np.maximum(a["gap_before_h"][r], 1e-6) / 1.852
    speed = np.where(np.isfinite(sog), sog, step_kn)
    v_start = np.r_[True, visit[1:] != visit[:-1]]
    stopped = _ffill_state(np.where(speed < pc.stop_start_kn, 1,
                                    np.where(speed > pc.stop_end_kn, 0, -1)), v_start)
    t_ns = a["t_ns"]
    data_end = int(t_ns.max()) if window is None else max(int(t_ns.max()), window.end_us * 1000)
    st = np.flatnonzero(stopped)
    if not len(st):
        return pd.DataFrame()
    frame = pd.DataFrame({"visit": visit[st], "row": r[st], "t": t_ns[r[st]],
                          "lat": lat[r[st]], "lon": lon[r[st]], "port_i": port_i[sel][st]})
    g = frame.groupby("visit", sort=True)
    calls = g.agg(first_row=("row", "min"), last_row=("row", "max"), t0=("t", "min"),
                  t1=("t", "max"), lat=("lat", "median"), lon=("lon", "median"),
                  stopped_pings=("row", "size"))
    # the visit's last in-zone row: still there at the track's end -> open
    vis_last = pd.Series(r).groupby(visit).max().reindex(calls.index).to_numpy()
    all_mmsi, all_track = a["mmsi"], a["track"]
    nxt = np.minimum(vis_last + 1, len(tracks) - 1)
    # ... and heard there until near the end of the data (else it went quiet in port: the
    # call ends at its last ping, of unknown length after it)
    calls["is_open"] = (((vis_last == len(tracks) - 1) | (all_mmsi[nxt] != all_mmsi[vis_last])
                         | (all_track[nxt] != all_track[vis_last]))
                        & ((data_end - calls["t1"]) / 3.6e12 <= pc.open_within_h))
    # a stop during a passage is short and ends with leaving; one still in the zone at the
    # end of the data is in port however short its stop so far
    calls = calls[((calls["t1"] - calls["t0"]) / 3.6e12 >= pc.min_stop_h)
                  | (calls["is_open"] & (calls["stopped_pings"] >= 2))].copy()
    if calls.empty:
        return pd.DataFrame()
    first = calls["first_row"].to_numpy()
    last = calls["last_row"].to_numpy()
    calls["mmsi"] = all_mmsi[first]
    calls["track"] = all_track[first]
    # port and terminal at the berth
    berth_km, bi = tree.nearest(calls["lat"].to_numpy(float), calls["lon"].to_numpy(float))
    pt = ports.iloc[bi]
    calls["port"] = pt["port"].to_numpy()
    calls["terminal"] = np.where(pt["radius_km"].to_numpy(float) >= berth_km,
                                 pt["terminal"].to_numpy(), "")
    calls["watched"] = pt["watched"].to_numpy(bool)
    calls["country"] = pt["country"].to_numpy()
    calls["port_iso2"] = pt["iso2"].to_numpy()
    _roles_out(calls, tracks, cfg)
    calls = calls[calls.pop("keep")]
    if calls.empty:
        return pd.DataFrame()
    first = calls["first_row"].to_numpy()
    last = calls["last_row"].to_numpy()
    calls["start_time"] = pd.to_datetime(calls["t0"], unit="ns", utc=True)
    calls["end_time"] = pd.to_datetime(np.where(calls["is_open"], np.iinfo(np.int64).min,
                                                calls["t1"]), unit="ns", utc=True)
    calls.loc[calls["is_open"], "end_time"] = pd.NaT
    calls["duration_h"] = (np.where(calls["is_open"], data_end, calls["t1"])
                           - calls["t0"]) / 3.6e12
    calls["stop_h"] = (calls["t1"] - calls["t0"]) / 3.6e12
    _draughts(calls, a, first, last)
    calls = calls.sort_values(["mmsi", "t0"], kind="stable").reset_index(drop=True)
    same = calls["mmsi"].to_numpy()
    prev_same = np.r_[False, same[1:] == same[:-1]]
    next_same = np.r_[same[:-1] == same[1:], False]
    ports_arr = calls["port"].to_numpy(object)
    calls["previous_port"] = np.where(prev_same, np.r_[[""], ports_arr[:-1]], "")
    calls["next_port"] = np.where(next_same, np.r_[ports_arr[1:], [""]], "")
    calls["passes_rule"] = True
    calls["context"] = _context(calls)
    keep = ["mmsi", "track", "start_time", "end_time", "duration_h", "lat", "lon", "is_open",
            "passes_rule", "context", "port", "terminal", "previous_port", "next_port",
            "draught_before_m", "draught_after_m", "draught_change_m", "stop_h",
            "stopped_pings", "watched"]
    return calls[keep]


def _roles_out(calls: pd.DataFrame, tracks: pd.DataFrame, cfg: Config) -> None:
    """``keep`` False for tugs, pilots, port service craft, short hulls, and fishing boats in
    a port of their own flag (a home port: local craft; a foreign trawler in a DPRK port is a
    call)."""
    from ais.inputs.identity import flag_of
    from ais.judging.waits import vessel_roles

    roles = vessel_roles(tracks, calls["mmsi"])
    role = roles.reindex(calls["mmsi"].to_numpy()).fillna("").to_numpy(object)
    keep = ~np.isin(role, ("tug", "pilot", "service"))
    flag = flag_of(calls["mmsi"].reset_index(drop=True))["flag_iso2"].fillna("").to_numpy()
    keep &= ~((role == "fishing") & (flag != "") & (flag == calls["port_iso2"].to_numpy()))
    if "length" in tracks.columns:
        rows = vessel_rows(tracks["mmsi"].to_numpy(np.int64),
                           calls["mmsi"].to_numpy(np.int64))
        length = pd.Series(tracks["length"].to_numpy(float)[rows],
                           index=tracks["mmsi"].to_numpy(np.int64)[rows]).groupby(level=0).median()
        ln = length.reindex(calls["mmsi"].to_numpy()).to_numpy(float)
        keep &= ~(np.isfinite(ln) & (ln > 0) & (ln < cfg.port_call.min_length_m))
    calls["keep"] = keep


def _near_cells(lat: np.ndarray, lon: np.ndarray, cells: np.ndarray,
                chunk: int = CHUNK_ROWS) -> np.ndarray:
    """Rows whose 0.1-degree cell is one of ``cells`` (sorted), a million rows at a time (the
    cell keys of every ping at once would be several column-sized temporaries)."""
    found = []
    for a in range(0, len(lat), chunk):
        cell = (np.floor(lat[a:a + chunk] / _CELL_DEG).astype(np.int64) * 10_000
                + np.floor(lon[a:a + chunk] / _CELL_DEG).astype(np.int64))
        pos = np.searchsorted(cells, cell)
        found.append(np.flatnonzero(cells[np.minimum(pos, len(cells) - 1)] == cell) + a)
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _arrays(tracks: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns used, as arrays in (mmsi, track, time) order: a shared MMSI's tracks
    interleave in the frame's (mmsi, time) order, and a visit is a run of one track."""
    from ais.tracking.tracks import track_order

    n = len(tracks)

    def col(name: str) -> np.ndarray:
        if name not in tracks.columns:
            return np.full(n, np.nan)
        if tracks[name].dtype == np.float64:  # the column's own array, read only (no copy)
            return tracks[name].to_numpy()
        return pd.to_numeric(tracks[name], errors="coerce").to_numpy(float, na_value=np.nan)

    a = {"mmsi": tracks["mmsi"].to_numpy(np.int64), "track": tracks["track"].to_numpy(),
         "t_ns": epoch_ns(tracks["timestamp"]), "lat": col("lat"), "lon": col("lon"),
         "sog": col("sog"), "step_km": col("step_km"), "gap_before_h": col("gap_before_h"),
         "draught": col("draught")}
    order = track_order(a["mmsi"], a["track"], a["t_ns"])
    if order is not None:
        a = {k: v[order] for k, v in a.items()}
        # the step and gap are to the previous ping of the same track once reordered
        a["step_km"] = np.r_[np.nan, _hav(a["lat"][:-1], a["lon"][:-1], a["lat"][1:],
                                          a["lon"][1:])]
        a["gap_before_h"] = np.r_[np.nan, np.diff(a["t_ns"]) / 3.6e12]
    return a


def _draughts(calls: pd.DataFrame, a: dict[str, np.ndarray], first: np.ndarray,
              last: np.ndarray) -> None:
    """Last reported draught at or before arrival, first at or after departure (per track)."""
    calls["draught_before_m"] = np.nan
    calls["draught_after_m"] = np.nan
    if np.isfinite(a["draught"]).any():
        dr = a["draught"]
        key = a["mmsi"]
        n = len(dr)
        has = np.isfinite(dr) & (dr > 0)
        # index of the last reported draught at or before each row, and the first at or after
        back = np.where(has, np.arange(n), -1)
        np.maximum.accumulate(back, out=back)
        fwd = np.where(has, np.arange(n), n)
        fwd = np.minimum.accumulate(fwd[::-1])[::-1]
        b, f = back[first], fwd[last]
        ok_b = (b >= 0) & (key[np.maximum(b, 0)] == key[first])
        ok_f = (f < n) & (key[np.minimum(f, n - 1)] == key[last])
        calls["draught_before_m"] = np.where(ok_b, dr[np.maximum(b, 0)], np.nan)
        calls["draught_after_m"] = np.where(ok_f, dr[np.minimum(f, n - 1)], np.nan)
    calls["draught_change_m"] = calls["draught_after_m"] - calls["draught_before_m"]


def _context(calls: pd.DataFrame) -> list[str]:
    out = []
    for port, term, prev, nxt, is_open in zip(calls["port"], calls["terminal"],
                                              calls["previous_port"], calls["next_port"],
                                              calls["is_open"], strict=True):
        where = f"{term}" if term else f"port: {port}"
        legs = f"from {prev or '?'} to {nxt or ('still in port' if is_open else '?')}"
        out.append(f"{where}; {legs}")
    return out


def link(calls: pd.DataFrame, candidates: dict[str, pd.DataFrame], cfg: Config
         ) -> pd.DataFrame:
    """Facts from the other types: a dark period of the vessel next to the call
    (``dark_before_after``) and an identity change during it (``identity_in_port``)."""
    out = calls.copy()
    out["dark_before_after"] = 0.0
    out["identity_in_port"] = 0.0
    if out.empty:
        return out
    win = pd.Timedelta(hours=cfg.port_call.dark_window_h)
    hour = pd.Timedelta(hours=1)
    spans = pd.DataFrame({"mmsi": out["mmsi"].astype("int64"), "s": out["start_time"],
                          "e": out["end_time"].fillna(pd.Timestamp.max.tz_localize("UTC")
                                                      - win)}).reset_index()
    dark = candidates.get("dark_period")
    if dark is not None and len(dark):
        d = dark[dark["passes_rule"].astype(bool)]
        p = spans.merge(d[["mmsi", "start_time", "end_time"]].rename(
            columns={"start_time": "d0", "end_time": "d1"}), on="mmsi")
        before = (p["d1"] <= p["s"]) & (p["d1"] >= p["s"] - win)
        after = (p["d0"] >= p["e"] - hour) & (p["d0"] <= p["e"] + win)
        out.loc[p.loc[before | after, "index"].unique(), "dark_before_after"] = 1.0
    ident = candidates.get("identity_change")
    if ident is not None and len(ident):
        sides = pd.concat([ident[["mmsi", "start_time"]],
                           ident[["other_mmsi", "start_time"]].rename(
                               columns={"other_mmsi": "mmsi"})]).dropna()
        sides["mmsi"] = sides["mmsi"].astype("int64")
        p = spans.merge(sides, on="mmsi")
        inside = (p["start_time"] >= p["s"] - hour) & (p["start_time"] <= p["e"])
        out.loc[p.loc[inside, "index"].unique(), "identity_in_port"] = 1.0
    return out


def rule_score(ev: pd.DataFrame) -> np.ndarray:
    """The documented score (module docstring); needs ``flag_iso2`` and ``vessel_type``."""
    foreign = ev.get("flag_iso2", pd.Series("", index=ev.index)).fillna("").ne("KP") & (
        ev.get("flag_iso2", pd.Series("", index=ev.index)).fillna("") != "")
    tanker = ev.get("vessel_type", pd.Series("", index=ev.index)).astype(str).eq("tanker")
    oil = ev["terminal"].fillna("").str.contains("oil", case=False)
    dprk = ev.get("country", pd.Series("", index=ev.index)).fillna("").eq(WATCHED_COUNTRY)
    score = (0.5 + 0.3 * (foreign & tanker & oil) + 0.1 * (foreign & dprk)
             + 0.2 * ev.get("dark_before_after", 0) + 0.25 * ev.get("identity_in_port", 0)
             + 0.05 * ev["draught_change_m"].abs().gt(0.3).astype(float))
    return np.clip(score.to_numpy(float), 0, 1)


def reason(ev: pd.Series) -> str:
    """One sentence for a port-call row."""
    where = ev.get("terminal") or ev.get("port")
    t0 = pd.Timestamp(ev["start_time"]).strftime("%Y-%m-%d %H:%M")
    text = f"Called at {where} ({ev.get('port')}): stopped from {t0} UTC"
    if bool(ev.get("is_open")):
        text += ", still in port at the end of the data"
    else:
        text += f" for {float(ev['stop_h']):.1f} h"
    text += f"; came from {ev.get('previous_port') or 'an unseen port'}"
    if not bool(ev.get("is_open")):
        text += f", sailed to {ev.get('next_port') or 'an unseen port'}"
    b, a = ev.get("draught_before_m"), ev.get("draught_after_m")
    if pd.notna(b) and pd.notna(a):
        ch = float(a) - float(b)
        word = "loaded" if ch > 0.3 else "unloaded" if ch < -0.3 else "unchanged"
        text += f"; draught {float(b):.1f} -> {float(a):.1f} m ({word})"
    if ev.get("dark_before_after") == 1:
        text += "; went dark just before or after"
    if ev.get("identity_in_port") == 1:
        text += "; changed identity in port"
    if ev.get("takeover"):
        text += f"; {ev['takeover']}"
    return text


def decisive(events: pd.DataFrame, cfg: Config) -> np.ndarray:
    """Scored by :func:`rule_score` alone; nothing overrides it."""
    return np.zeros(len(events), dtype=bool)
