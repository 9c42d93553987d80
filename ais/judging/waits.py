"""Waits, not anomalies: the checks every loitering, meetup and dark-period candidate meets
wherever it is, after its detector's own rule.

A candidate that passes its detector's rule is a wait instead (``passes_rule`` false, the
reason in ``context``) when:

- it lies in the zone of a port of the global table (``ais.geography.ports``; the detectors' own
  ``in_port`` already uses the table, this catches what their thresholds leave);
- it lies in or next to an anchorage learned from traffic (``ais.geography.anchorages``);
- its vessel reports at anchor, moored or aground (ITU codes 1, 5, 6, as text or numbers,
  ``ais.inputs.navstatus``) in most of its pings of the event (for a dark period: of the hour before
  it went quiet); for a meetup, both vessels do, or one does next to land or a port; never
  inside a configured ship-to-ship transfer site (``kind = "sts_site"``), where lying at
  anchor is how transfers are done;
- it is next to land near a port (``ais.geography.shore``): within ``[ports] berth_shore_km`` of
  land
  and ``berth_port_km`` of a port, outside configured ship-to-ship transfer sites: a berth, a
  marina, a lock or a river;
- (loitering and meetups) its position is a land cell: a river, a canal, a harbour basin the
  1 km grid calls land, or a bad position: not at sea, anywhere in the world;
- (loitering; meetups when both are) its vessel fishes, tows, pilots or serves, read from
  any ping's reported type, not only the most common (most pings of many vessels carry no
  type), from ITU status 7 "engaged in fishing" in at least :data:`FISHING_STATUS_SHARE` of
  its pings, or from its name (:data:`FISHING_NAME`); a vessel reporting status 3
  "restricted in her ability to manoeuvre" in as many (dredgers, survey and cable ships) works
  slowly too.

Every candidate also gets ``distance_to_shore_km`` and ``anchorage_vessels`` (0 outside a
learned anchorage) for the analyst.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import connect
from ais.geography import anchorages as anch
from ais.geography.geo import nearest_place
from ais.geography.ports import nearest_port
from ais.geography.shore import distance_to_shore_km
from ais.inputs import navstatus
from ais.tracking.tracks import epoch_ns, vessel_rows

SERVICE_CLASSES = ("fishing", "tug", "pilot", "service")
#: Share of a vessel's pings with a status reporting "engaged in fishing" that makes it a
#: fishing vessel (a cargo ship's wrong status in a few pings does not).
FISHING_STATUS_SHARE = 0.2
#: Names of fishing vessels: Chinese "YU" (渔) hull numbers (LU RONG YU 1234, ZHEYU...),
#: Japanese "MARU NO.n" boats, and the words themselves.
FISHING_NAME = r"(?:YU\s*\d|\bF/?V\b|FISHING|TRAWL|MARU\s*NO\.?\s*\d)"
_ROLE_WORDS = {"restricted": "restricted in her ability to manoeuvre (dredging, survey, cable "
                             "or diving work)"}
#: Hours of pings before a dark period read for its vessel's status.
DARK_STATUS_WINDOW_H = 1.0


#: The tracks' columns :func:`apply` reads (a caller holding the tracks elsewhere fetches
#: these of the events' vessels only).
TRACK_COLUMNS = ("mmsi", "timestamp", "vessel_class", "nav_status", "name")

def _take(frame: pd.DataFrame, col: str, rows: np.ndarray) -> np.ndarray:
    """Values of ``frame[col]`` at positions ``rows`` as objects (taken before converting,
    so a million-row categorical or Arrow column is not turned into objects whole)."""
    return frame[col].take(rows).to_numpy(object)


def _status_codes(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """:func:`ais.inputs.navstatus.codes` of ``frame["nav_status"]`` at positions ``rows``
    (of a categorical column, each category read once and the pings by their codes: no
    object per ping)."""
    column = frame["nav_status"]
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return navstatus.codes(_take(frame, "nav_status", rows))
    table = np.r_[navstatus.codes(column.cat.categories.to_numpy(object)),
                  np.int8(-1)].astype(np.int8)
    return table[column.cat.codes.to_numpy()[rows]]  # code -1 (missing) picks the last


def vessel_roles(tracks: pd.DataFrame, mmsis: pd.Series | np.ndarray) -> pd.Series:
    """For each MMSI asked about: "fishing", "tug", "pilot", "service", "restricted" or ""
    (see the module docstring: any reported type, fishing or restricted status, name)."""
    wanted = pd.unique(pd.to_numeric(pd.Series(mmsis), errors="coerce").dropna()
                       .astype(np.int64))
    out = pd.Series("", index=pd.Index(wanted, name="mmsi"), dtype=object)
    if not len(wanted) or tracks.empty:
        return out
    rows = vessel_rows(tracks["mmsi"].to_numpy(np.int64), wanted)
    sub = pd.DataFrame({"mmsi": tracks["mmsi"].to_numpy(np.int64)[rows]})
    sub["cls"] = (_take(tracks, "vessel_class", rows) if "vessel_class" in tracks.columns
                  else "unknown")
    status = (_status_codes(tracks, rows) if "nav_status" in tracks.columns
              else np.full(len(sub), -1))
    sub["fishing_status"] = (status == navstatus.FISHING).astype(float)
    sub["restricted_status"] = (status == navstatus.RESTRICTED).astype(float)
    sub["has_status"] = (status >= 0).astype(float)
    known = sub[~sub["cls"].isin(["unknown", "other", None])].dropna(subset=["cls"])
    if len(known):
        by_class = known.groupby(["mmsi", "cls"]).size().rename("n").reset_index()
        by_class = by_class.sort_values(["mmsi", "n", "cls"], ascending=[True, False, True])
        top = by_class.drop_duplicates("mmsi").set_index("mmsi")["cls"]
        top = top[top.isin(SERVICE_CLASSES)]
        out.loc[top.index] = top.to_numpy()
    share = sub.groupby("mmsi")[["fishing_status", "restricted_status", "has_status"]].sum()
    for col, role in (("fishing_status", "fishing"), ("restricted_status", "restricted")):
        hit = share.index[(share["has_status"] > 0) & (
            share[col] >= FISHING_STATUS_SHARE * share["has_status"])]
        out.loc[hit[out.loc[hit] == ""]] = role
    if "name" in tracks.columns:
        column = tracks["name"]
        if isinstance(column.dtype, pd.CategoricalDtype):  # its codes: no object per ping
            ids = column.cat.codes.to_numpy()[rows]
            names = column.cat.categories
        else:
            ids, names = pd.factorize(pd.Series(_take(tracks, "name", rows), dtype=object))
        words = pd.Series(names, dtype=object).astype(str).str.upper()
        fishy = np.r_[words.str.contains(FISHING_NAME, regex=True).to_numpy(bool), False]
        by_name = pd.unique(sub["mmsi"].to_numpy()[fishy[ids]])  # -1 (no name) is False
        unset = [m for m in by_name if out.loc[m] == ""]
        out.loc[unset] = "fishing"
    return out


def at_rest_share(events: pd.DataFrame, tracks: pd.DataFrame, key: str = "mmsi",
                  before_h: float = 0.0) -> np.ndarray:
    """For each event, the share of its vessel's pings (``key``: "mmsi" or "other_mmsi")
    from ``before_h`` hours before its start to its end that report at anchor, moored or
    aground, among those with a usable status; NaN when none has one."""
    out = np.full(len(events), np.nan)
    if events.empty or tracks.empty or "nav_status" not in tracks.columns:
        return out
    ev = pd.DataFrame({
        "i": np.arange(len(events)),
        "mmsi": pd.to_numeric(events[key], errors="coerce").to_numpy(float),
        "t0": pd.to_datetime(events["start_time"], utc=True)
        - pd.Timedelta(hours=before_h),
        "t1": pd.to_datetime(events["end_time"], utc=True).fillna(
            pd.to_datetime(events["start_time"], utc=True)),
    }).dropna(subset=["mmsi"])
    if ev.empty:
        return out
    ev["mmsi"] = ev["mmsi"].astype(np.int64)
    rows = vessel_rows(tracks["mmsi"].to_numpy(np.int64), ev["mmsi"].to_numpy())
    if not len(rows):
        return out
    pings = pd.DataFrame({"mmsi": tracks["mmsi"].to_numpy(np.int64)[rows],
                          "t": pd.to_datetime(epoch_ns(tracks["timestamp"])[rows], utc=True),
                          "code": _status_codes(tracks, rows)})
    pings = pings[pings["code"] >= 0]
    if pings.empty:
        return out
    pings["rest"] = np.isin(pings["code"].to_numpy(), navstatus.AT_REST).astype(float)
    con = connect()
    try:
        con.register("ev", ev)
        con.register("p", pings)
        share = con.execute("""
            SELECT ev.i, avg(p.rest) AS share FROM ev JOIN p
              ON p.mmsi = ev.mmsi AND p.t >= ev.t0 AND p.t <= ev.t1
            GROUP BY ev.i
        """).df()
    finally:
        con.close()
    out[share["i"].to_numpy(np.int64)] = share["share"].to_numpy(float)
    return out


def apply(events: pd.DataFrame, event_type: str, tracks: pd.DataFrame, cfg: Config,
          anchorages: pd.DataFrame | None = None) -> pd.DataFrame:
    """``events`` of one type with the waits taken out of the rule (see the module
    docstring) and ``distance_to_shore_km`` / ``anchorage_vessels`` added; a new frame."""
    out = events.copy()
    if out.empty:
        out["distance_to_shore_km"] = pd.Series(dtype="float64")
        out["anchorage_vessels"] = pd.Series(dtype="int64")
        return out
    lat, lon = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
    shore_km = distance_to_shore_km(lat, lon)
    port_name, port_km, in_zone = nearest_port(lat, lon, cfg)
    learned, in_learned = anch.inside(lat, lon, anchorages)
    out["distance_to_shore_km"] = shore_km
    out["anchorage_vessels"] = learned
    if event_type not in ("loitering", "meetup", "dark_period"):
        return out
    _, _, in_sts = nearest_place(lat, lon, cfg.places, ("sts_site",))
    pc = cfg.ports
    near_port = port_km <= pc.berth_port_km
    berth = (shore_km <= pc.berth_shore_km) & near_port & ~in_sts
    on_land = (shore_km == 0.0) & (event_type != "dark_period")
    passes = out["passes_rule"].to_numpy(bool)
    todo = np.flatnonzero(passes)  # statuses and roles are read only for what would flag
    sub = out.iloc[todo]
    rest_major = np.zeros(len(out), dtype=bool)
    rest = at_rest_share(sub, tracks, "mmsi",
                         DARK_STATUS_WINDOW_H if event_type == "dark_period" else 0.0)
    rest_major[todo] = np.nan_to_num(rest) > 0.5
    if event_type == "meetup":
        other_rest = np.zeros(len(out), dtype=bool)
        other_rest[todo] = np.nan_to_num(at_rest_share(sub, tracks, "other_mmsi")) > 0.5
        coastal = (shore_km <= 2 * pc.berth_shore_km) | near_port
        rest_major = (rest_major & other_rest) | ((rest_major | other_rest) & coastal)
    rest_major &= ~in_sts  # at a reported transfer site, lying at anchor is how it is done
    roles = vessel_roles(tracks, pd.concat([sub["mmsi"], sub.get(
        "other_mmsi", pd.Series(dtype="Int64"))]))
    role = roles.reindex(pd.to_numeric(out["mmsi"], errors="coerce")).fillna("").to_numpy()
    service = role != ""
    if event_type == "meetup":
        other = roles.reindex(pd.to_numeric(out["other_mmsi"], errors="coerce")
                              ).fillna("").to_numpy()
        service = (role == "fishing") & (other == "fishing")
    elif event_type == "dark_period":
        service = np.zeros(len(out), dtype=bool)  # fishing boats going dark still count
    port = pd.Series(port_name, dtype=str).to_numpy(object)
    n = len(out)
    reasons = [
        (in_zone, [f"in port: {p}" for p in port]),
        (in_learned, [f"anchorage wait (learned from traffic: {k} vessels sat still here)"
                      for k in learned]),
        (rest_major, ["at anchor or moored by its own navigational status"] * n),
        (on_land, ["position on land in the 1 km grid: river, canal, harbour basin or bad "
                   "position"] * n),
        (berth, [f"berth, marina or river: {s:.1f} km from land, {k:.0f} km from {p}"
                 for s, k, p in zip(shore_km, port_km, port, strict=True)]),
        (service, [_ROLE_WORDS.get(r, f"{r} vessel working") for r in role]),
    ]
    wait = np.zeros(n, dtype=bool)
    for cond, _ in reasons:
        wait |= cond
    hit = passes & wait
    if hit.any():
        words = np.select([c for c, _ in reasons],
                          [np.array(t, dtype=object) for _, t in reasons], default="")
        ctx = out["context"].astype(str).to_numpy(object)
        ctx[hit] = words[hit]
        out["context"] = ctx
        out["passes_rule"] = passes & ~wait
    return out
