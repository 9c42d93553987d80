"""Route memory across nights: which vessels served which DPRK-foreign port pairs, and who
took a route over when its vessel stopped (the Najin-Dunay shuttle "changing ships").

A **leg** is read from a port-call row at a DPRK port (or a configured port): its
``previous_port`` when that is a foreign port (foreign -> DPRK) and its ``next_port`` when
that is (DPRK -> foreign). A **route** is the unordered pair, named DPRK port first
("Najin-Dunay"); a vessel *serves* it with at least :data:`MIN_LEGS` legs.

A **take-over**: vessel Y's leg of a route whose earlier vessel X served it (>= 2 legs, none
after Y's first) and was last seen on it at most :data:`TAKEOVER_DAYS` days before Y's first
leg. Y's port calls then say "takes over Najin-Dunay from X (NAME), last seen YYYY-MM-DD".

Legs come from the port-call rows the state keeps (``events.row_json``) and tonight's rows,
so no table of its own is needed; the work is over calls (a few per vessel), never pings.
"""

from __future__ import annotations

import pandas as pd

from ais.detectors.port_call import _ports

MIN_LEGS = 2
TAKEOVER_DAYS = 30.0


def _watched_names() -> set[str]:
    from ais.config import Config

    cfg = Config()
    ports = _ports(tuple(cfg.places), cfg.ports.table)
    return set(ports.loc[ports["watched"], "port"]) | set(ports.loc[ports["watched"], "name"])


def legs(calls: pd.DataFrame) -> pd.DataFrame:
    """Legs (mmsi, vessel_name, route, time) of port-call rows (CSV-shaped, any nights)."""
    cols = ["mmsi", "vessel_name", "route", "time"]
    if calls is None or calls.empty or "port" not in calls.columns:
        return pd.DataFrame(columns=cols)
    c = calls[calls["event_type"] == "port_call"] if "event_type" in calls.columns else calls
    watched = _watched_names()
    out = []
    for col, when in (("previous_port", "start_time"), ("next_port", "end_time")):
        if col not in c.columns:
            continue
        other = c[col].fillna("").astype(str)
        ok = (other != "") & ~other.isin(watched) & c["port"].isin(watched)
        sub = c[ok]
        out.append(pd.DataFrame({
            "mmsi": pd.to_numeric(sub["mmsi"]).astype("int64"),
            "vessel_name": sub.get("vessel_name", pd.Series("", index=sub.index)).fillna(""),
            "route": sub["port"].astype(str) + "-" + other[ok],
            "time": pd.to_datetime(sub[when].replace("", None), utc=True, format="ISO8601"),
        }))
    if not out:
        return pd.DataFrame(columns=cols)
    frame = pd.concat(out, ignore_index=True).dropna(subset=["time"])
    return frame.drop_duplicates(["mmsi", "route", "time"]).sort_values(
        ["route", "time", "mmsi"], kind="stable").reset_index(drop=True)


def served(all_legs: pd.DataFrame) -> pd.DataFrame:
    """Routes per vessel: legs, first and last time (those with at least MIN_LEGS legs)."""
    if all_legs.empty:
        return pd.DataFrame(columns=["mmsi", "route", "legs", "first", "last", "vessel_name"])
    g = all_legs.groupby(["mmsi", "route"], sort=True)
    out = g.agg(legs=("time", "size"), first=("time", "min"), last=("time", "max"),
                vessel_name=("vessel_name", "last")).reset_index()
    return out[out["legs"] >= MIN_LEGS].reset_index(drop=True)


def takeovers(all_legs: pd.DataFrame) -> pd.DataFrame:
    """(mmsi, route, text) for each vessel that took a route over (module docstring)."""
    cols = ["mmsi", "route", "text"]
    if all_legs.empty:
        return pd.DataFrame(columns=cols)
    first = all_legs.groupby(["mmsi", "route"]).agg(first=("time", "min")).reset_index()
    old = served(all_legs)
    pairs = first.merge(old, on="route", suffixes=("", "_x"))
    pairs = pairs[(pairs["mmsi"] != pairs["mmsi_x"]) & (pairs["last"] <= pairs["first"])
                  & (pairs["first"] - pairs["last"]
                     <= pd.Timedelta(days=TAKEOVER_DAYS))]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    pairs = pairs.sort_values("last").drop_duplicates(["mmsi", "route"], keep="last")
    name = pairs["vessel_name"].fillna("").astype(str)
    who = pairs["mmsi_x"].astype(str) + name.where(name == "", " (" + name + ")")
    pairs["text"] = ("takes over " + pairs["route"] + " from " + who + ", last seen "
                     + pairs["last"].dt.strftime("%Y-%m-%d"))
    return pairs[cols].reset_index(drop=True)


def annotate(events: pd.DataFrame, stored: pd.DataFrame | None) -> pd.DataFrame:
    """Tonight's events with ``takeover`` filled on the port calls of a vessel that took a
    route over, and said in their ``reason``; a new frame."""
    out = events.copy()
    if out.empty:
        return out
    out["takeover"] = ""
    calls = out[out["event_type"] == "port_call"]
    if calls.empty:
        return out
    tonight = _csv_shaped(calls)
    before = stored if stored is not None and len(stored) else pd.DataFrame()
    if len(before) and "event_id" in before.columns:
        before = before[~before["event_id"].isin(out["event_id"])]
    all_legs = legs(pd.concat([before, tonight], ignore_index=True))
    taken = takeovers(all_legs)
    if taken.empty:
        return out
    for i in calls.index:  # tonight's calls of DPRK ports: a handful
        m = int(out.at[i, "mmsi"])
        routes = set(legs(tonight.loc[[i]])["route"])
        hit = taken[(taken["mmsi"] == m) & taken["route"].isin(routes)]
        if len(hit):
            words = "; ".join(hit["text"])
            out.at[i, "takeover"] = words
            out.at[i, "reason"] = f"{out.at[i, 'reason']}; {words}"
    return out


def _csv_shaped(calls: pd.DataFrame) -> pd.DataFrame:
    """Port-call rows with times as ISO text, like the rows the state keeps."""
    c = calls.copy()
    for col in ("start_time", "end_time"):
        c[col] = pd.to_datetime(c[col], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    return c


def route_lines(events: pd.DataFrame) -> list[str]:
    """``ais history`` lines: the routes a vessel served, from its stored port-call rows."""
    rows = served(legs(events))
    return [f"  {r.route}: {int(r.legs)} legs, {r.first:%Y-%m-%d} .. {r.last:%Y-%m-%d}"
            for r in rows.itertuples(index=False)]
