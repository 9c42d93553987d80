"""Identity changes: a new name, call sign or IMO within a track, or a new MMSI for one hull.

Within a track, a ping whose normalised name (or call sign, or IMO) differs from the last
one the track broadcast is a change. Names are compared on letters and digits only, so
'@' padding, case, spacing and punctuation ('PEI YUH NO.6' / 'PEI YUH NO6') never count; an
identity broadcast in fewer than ``min_pings_per_identity`` pings is ignored (one garbled
static message is not a new name). Repeated switching between the same identities (a shared
MMSI, a fleet that renames hourly) is one event with ``n_switches`` counting them.

Across MMSIs, a track that ends and a track of another MMSI that starts within
``handover_max_h`` and ``handover_max_km`` of it, with the same IMO or the same name and
call sign, is one ship under a new MMSI; ``other_mmsi`` is the previous MMSI and the flag
comes from each MMSI's MID.

Every real change passes the rule (MarineTraffic reports every NAME_CHANGED/FLAG_CHANGED);
the forest ranks them.

Features: ``name_changed``, ``callsign_changed``, ``imo_changed``, ``mmsi_changed``,
``flag_changed`` (0/1); ``name_distance`` (0 same .. 1 nothing in common); ``n_switches``;
``n_identities`` (distinct names the hull used in the data); ``dprk_involved`` (either flag
is DPRK); ``foc_involved`` (either flag is an ITF flag of convenience); ``unallocated_mid``
(either MMSI has an unallocated MID); ``imo_invalid`` (an IMO with a wrong check digit);
``handover_gap_h`` / ``handover_km`` (for MMSI changes; 0 otherwise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import connect
from ais.detectors.words import num, where
from ais.events import conform
from ais.geography.geo import haversine_km
from ais.inputs.identity import DPRK_MID, FLAGS_OF_CONVENIENCE, flag_of, imo_valid, name_distance
from ais.inputs.names import KEY_SQL, first_broadcasts, name_edits
from ais.inputs.names import key as name_key
from ais.tracking.coverage import DataWindow

#: What this detector finds, its id prefix (``IDC-...``), the colour of its
#: events on maps, exports and the report, and what ``other_mmsi`` is to it.
EVENT_TYPE = "identity_change"
ID_PREFIX = "IDC"
COLOUR = "#984ea3"
OTHER_ROLE = "previous MMSI"
#: At sea by definition: a candidate on land or at a berth is a wait (:mod:`ais.judging.waits`).
AT_SEA = False
#: Scored by an isolation forest on FEATURES.
FOREST = True
#: Candidates of other types this one reads after they are found.
NEEDS: tuple[str, ...] = ()
FEATURES: tuple[str, ...] = (
    "name_changed", "callsign_changed", "imo_changed", "mmsi_changed", "flag_changed",
    "name_distance", "n_switches", "n_identities", "dprk_involved", "foc_involved",
    "unallocated_mid", "imo_invalid", "handover_gap_h", "handover_km",
)


def _observations(tracks: pd.DataFrame) -> pd.DataFrame:
    """Pings with an identity field, of the tracks that broadcast two values of a field."""
    con = connect()
    con.register("every", tracks[["mmsi", "track", "timestamp", "lat", "lon", "name_norm",
                                  "callsign_norm", "imo"]])
    # Only tracks that broadcast two values of a field can change identity: one hash
    # aggregate leaves the per-ping work to the few tracks that matter.
    obs = con.execute(f"""
        SELECT mmsi, track, timestamp, lat, lon,
            CAST(name_norm AS VARCHAR) AS name_display,
            {KEY_SQL.format(c="CAST(name_norm AS VARCHAR)")} AS name_key,
            CAST(callsign_norm AS VARCHAR) AS callsign_display,
            {KEY_SQL.format(c="CAST(callsign_norm AS VARCHAR)")} AS callsign_key,
            CAST(imo AS VARCHAR) AS imo_key, CAST(imo AS VARCHAR) AS imo_display
        FROM every SEMI JOIN (
            SELECT mmsi, track FROM every GROUP BY mmsi, track
            HAVING min(name_norm) <> max(name_norm) OR min(callsign_norm) <> max(callsign_norm)
                OR min(imo) <> max(imo)
        ) USING (mmsi, track)
        WHERE name_norm IS NOT NULL OR callsign_norm IS NOT NULL OR imo IS NOT NULL
        ORDER BY mmsi, track, timestamp
    """).df()
    con.close()
    return obs


def _within_track(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """One row per new identity in a track, dated at its first broadcast.

    Each field is read on its own (:func:`ais.inputs.names.first_broadcasts`): cut-short names are
    their full name, a consistent single report counts, a return to an earlier identity is
    a switch, not a new name. Changes of different fields within
    ``[identity_change] merge_fields_h`` are one row.
    """
    ic = cfg.identity_change
    obs = _observations(tracks)
    if obs.empty:
        return pd.DataFrame()
    found, counts = [], {}
    for f in ("name", "callsign", "imo"):
        one = obs[["mmsi", "track", "timestamp", "lat", "lon"]].assign(
            key=obs[f"{f}_key"], display=obs[f"{f}_display"])
        changes, per_track = first_broadcasts(one, f, ic.min_pings_per_identity,
                                              ic.min_identity_h)
        if len(changes):
            found.append(changes)
        counts[f] = per_track
    if not found:
        return pd.DataFrame()
    ch = pd.concat(found, ignore_index=True).sort_values(["mmsi", "track", "timestamp"],
                                                         kind="stable", ignore_index=True)
    # one row per burst of changes of one track (name and call sign sent apart)
    t = ch["timestamp"]
    same = (ch["mmsi"].eq(ch["mmsi"].shift()) & ch["track"].eq(ch["track"].shift())
            & ch["field"].ne(ch["field"].shift())
            & ((t - t.shift()).dt.total_seconds() <= ic.merge_fields_h * 3600))
    ch["burst"] = (~same).cumsum()
    rows = ch.groupby("burst", sort=True).agg(
        mmsi=("mmsi", "first"), track=("track", "first"), start_time=("timestamp", "min"),
        lat=("lat", "first"), lon=("lon", "first"),
        before_last_time=("before_last_time", "min"))
    for f, short in (("name", "n"), ("callsign", "c"), ("imo", "i")):
        part = ch[ch["field"] == f].drop_duplicates("burst").set_index("burst")
        rows[f"{f}_before"] = part["before"].reindex(rows.index)
        rows[f"{f}_after"] = part["after"].reindex(rows.index)
        rows[f"d{short}"] = rows[f"{f}_after"].notna()
    rows = rows.reset_index(drop=True)
    rows["end_time"] = rows["start_time"]
    names = counts["name"]
    if len(names):
        rows = rows.merge(names.rename(columns={"switches": "name_switches",
                                                "identities": "n_identities"}),
                          on=["mmsi", "track"], how="left")
    else:
        rows = rows.assign(name_switches=0, n_identities=np.nan, chain=None)
    switches = pd.concat([c[["mmsi", "track", "switches"]] for c in counts.values() if len(c)]
                         ).groupby(["mmsi", "track"])["switches"].max()
    rows["n_switches"] = switches.reindex(pd.MultiIndex.from_frame(rows[["mmsi", "track"]])
                                          ).fillna(1).to_numpy()
    # the row's place in its track's chain of new names
    rows["chain_size"] = rows.groupby(["mmsi", "track"])["dn"].transform("sum")
    rows["chain_index"] = rows.groupby(["mmsi", "track"])["dn"].cumsum()
    rows["shared_mmsi_km"] = _other_ship_km(rows, obs, cfg)
    rows["other_mmsi"] = pd.NA
    rows["mmsi_before"] = rows["mmsi"]
    rows["handover_gap_h"] = 0.0
    rows["handover_km"] = 0.0
    rows["two_transponders"] = 0.0
    return rows



def _other_ship_km(rows: pd.DataFrame, obs: pd.DataFrame, cfg: Config) -> np.ndarray:
    """For each change, how far away another track (ship) of the same MMSI broadcast the same
    new name within ``[identity_change] shared_max_h`` at an impossible speed (NaN: none did).
    Static reports of
    an MMSI shared by two ships cannot say which ship sent them."""
    ic = cfg.identity_change
    out = np.full(len(rows), np.nan)
    named = rows[rows["dn"]].assign(nk=lambda r: name_key(r["name_after"]))
    if named.empty:
        return out
    seen = obs[["mmsi", "track", "timestamp", "lat", "lon", "name_key"]].rename(
        columns={"track": "other_track", "timestamp": "t", "lat": "olat", "lon": "olon",
                 "name_key": "nk"})
    both = named.reset_index().merge(seen, on=["mmsi", "nk"])
    both = both[both["other_track"] != both["track"]]
    dt_h = (both["t"] - both["start_time"]).dt.total_seconds().abs() / 3600
    km = haversine_km(both["lat"], both["lon"], both["olat"], both["olon"])
    fast = (dt_h <= ic.shared_max_h) & (km > ic.shared_min_kn * 1.852 * dt_h.clip(lower=0.1))
    far = pd.Series(np.asarray(km), index=both.index)[fast].groupby(both["index"][fast]).max()
    out[rows.index.get_indexer(far.index)] = far.to_numpy()
    return out


def _track_ends(tracks: pd.DataFrame) -> pd.DataFrame:
    con = connect()
    con.register("t", tracks[["mmsi", "track", "timestamp", "lat", "lon", "name_norm",
                              "callsign_norm", "imo"]])
    ends = con.execute("""
        SELECT mmsi, track,
            min(timestamp) AS first_time, max(timestamp) AS last_time,
            arg_min(lat, timestamp) AS first_lat, arg_min(lon, timestamp) AS first_lon,
            arg_max(lat, timestamp) AS last_lat, arg_max(lon, timestamp) AS last_lon,
            arg_max(name_norm, timestamp) FILTER (WHERE name_norm IS NOT NULL) AS last_name,
            arg_min(name_norm, timestamp) FILTER (WHERE name_norm IS NOT NULL) AS first_name,
            arg_max(callsign_norm, timestamp) FILTER (WHERE callsign_norm IS NOT NULL)
                AS last_callsign,
            arg_min(callsign_norm, timestamp) FILTER (WHERE callsign_norm IS NOT NULL)
                AS first_callsign,
            arg_max(imo, timestamp) FILTER (WHERE imo IS NOT NULL) AS last_imo,
            arg_min(imo, timestamp) FILTER (WHERE imo IS NOT NULL) AS first_imo,
            count(*) AS pings
        FROM t GROUP BY ALL
    """).df()
    con.close()
    return ends


def _joinable_ends(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The track ends a handover or a pair of transponders may join: tracks of at least
    ``min_pings_per_identity`` pings."""
    ends = _track_ends(tracks)
    return ends[ends["pings"] >= cfg.identity_change.min_pings_per_identity]


def hull_groups(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """``mmsi`` -> ``group``: the MMSIs this detector may join into one hull, as one group
    (the smallest MMSI of its connected component; an MMSI alone is its own group).

    Two MMSIs are linked when the ends of their tracks share a hull key, the IMO or the
    name with the call sign (the keys :func:`_mmsi_handovers` joins on). The detector run on
    any partition of whole groups answers as on the whole tracks: the shuffle by hull key
    of ``ais scan --cluster`` (:mod:`ais.runtime.cluster`). Work: one aggregate over the
    pings, then a graph of a few rows per track."""
    return groups_of(*hull_links(tracks, cfg))


def hull_links(tracks: pd.DataFrame, cfg: Config) -> tuple[np.ndarray, pd.DataFrame]:
    """What :func:`hull_groups` reads of a frame: its MMSIs (ascending) and the hull keys of
    its track ends (``mmsi, key``). Per vessel: the links of parts of the tracks, put
    together, give :func:`groups_of` the groups of the whole."""
    mmsis = np.unique(tracks["mmsi"].to_numpy(np.int64))
    ends = _joinable_ends(tracks, cfg)
    keys = []
    for where_ in ("first", "last"):
        imo = ends[f"{where_}_imo"]
        keys.append(pd.DataFrame({"mmsi": ends["mmsi"], "key": "i" + imo.astype("string")}
                                 )[imo.notna()])
        name, call = ends[f"{where_}_name"], ends[f"{where_}_callsign"]
        both = name.notna() & call.notna()
        keys.append(pd.DataFrame({"mmsi": ends["mmsi"], "key": "n" + name.astype("string")
                                  + "\x1f" + call.astype("string")})[both])
    return mmsis, pd.concat(keys, ignore_index=True).drop_duplicates()


def groups_of(mmsis: np.ndarray, links: pd.DataFrame) -> pd.DataFrame:
    """``mmsi`` -> ``group`` from :func:`hull_links` (``mmsis`` ascending and distinct)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    group = mmsis
    if len(links):
        vessel = np.searchsorted(mmsis, links["mmsi"].to_numpy(np.int64))
        key_codes, _ = pd.factorize(links["key"])
        n = len(mmsis) + int(key_codes.max()) + 1
        graph = coo_matrix((np.ones(len(links)), (vessel, len(mmsis) + key_codes)),
                           shape=(n, n))
        _, label = connected_components(graph, directed=False)
        label = label[:len(mmsis)]
        # the smallest MMSI of each component names it
        group = pd.Series(mmsis).groupby(label).transform("min").to_numpy(np.int64)
    return pd.DataFrame({"mmsi": mmsis, "group": group})


def _mmsi_handovers(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Tracks of one MMSI that end where a track of another MMSI with the same hull starts;
    and pairs of MMSIs of one hull that report together (two transponders)."""
    ic = cfg.identity_change
    ends = _joinable_ends(tracks, cfg)
    old = ends.rename(columns=lambda c: f"old_{c}")
    new = ends.rename(columns=lambda c: f"new_{c}")
    pairs = []
    # join on the hull's identity (IMO, or name + call sign): never all pairs of tracks
    for old_key, new_key in ((["old_last_imo"], ["new_first_imo"]),
                             (["old_last_name", "old_last_callsign"],
                              ["new_first_name", "new_first_callsign"])):
        a = old.dropna(subset=old_key)
        b = new.dropna(subset=new_key)
        pairs.append(a.merge(b, left_on=old_key, right_on=new_key))
    cand = pd.concat(pairs, ignore_index=True)
    if cand.empty:
        return pd.DataFrame()
    cand = cand[cand["old_mmsi"] != cand["new_mmsi"]]
    gap_h = (cand["new_first_time"] - cand["old_last_time"]).dt.total_seconds() / 3600
    km = haversine_km(cand["old_last_lat"], cand["old_last_lon"], cand["new_first_lat"],
                      cand["new_first_lon"])
    cand = cand.assign(handover_gap_h=gap_h, handover_km=km)
    # both MMSIs on the air at once is not a handover (it would have a negative gap); it is
    # one hull with two transponders when they report the same positions at the same times
    together = cand[gap_h < 0]
    ok = (gap_h >= 0) & (gap_h <= ic.handover_max_h) & (km <= ic.handover_max_km)
    cand = cand[ok].drop_duplicates(["old_mmsi", "old_track", "new_mmsi", "new_track"])
    out = []
    if len(cand):
        out.append(pd.DataFrame({
            "mmsi": cand["new_mmsi"], "track": cand["new_track"],
            "other_mmsi": cand["old_mmsi"], "mmsi_before": cand["old_mmsi"],
            "start_time": cand["old_last_time"], "end_time": cand["new_first_time"],
            "lat": cand["new_first_lat"], "lon": cand["new_first_lon"],
            "name_before": cand["old_last_name"], "name_after": cand["new_first_name"],
            "callsign_before": cand["old_last_callsign"],
            "callsign_after": cand["new_first_callsign"],
            "imo_before": cand["old_last_imo"].astype("Int64").astype(str),
            "imo_after": cand["new_first_imo"].astype("Int64").astype(str),
            "dn": name_key(cand["old_last_name"]).fillna("")
            != name_key(cand["new_first_name"]).fillna(""),
            "dc": name_key(cand["old_last_callsign"]).fillna("")
            != name_key(cand["new_first_callsign"]).fillna(""),
            "di": (cand["old_last_imo"].notna() & cand["new_first_imo"].notna()
                   & (cand["old_last_imo"] != cand["new_first_imo"])),
            "n_switches": 1, "n_identities": np.nan,
            "handover_gap_h": cand["handover_gap_h"], "handover_km": cand["handover_km"],
            "two_transponders": 0.0,
        }))
    if len(together):
        out.append(_two_transponders(tracks, together, cfg))
    out = [o for o in out if len(o)]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()



def _two_transponders(tracks: pd.DataFrame, together: pd.DataFrame, cfg: Config
                      ) -> pd.DataFrame:
    """One row per pair of MMSIs of one hull identity (same IMO, or name and call sign) that
    are on the air over the same hours from the same place: each report of the MMSI that
    reported less is paired with the other's nearest within ``[identity_change] pair_h``, and
    the pair is one
    hull when every report found a partner and their median distance is at most
    ``two_transponders_km``. From the later first report to the earlier last one."""
    ic = cfg.identity_change
    lo = np.minimum(together["old_mmsi"], together["new_mmsi"])
    hi = np.maximum(together["old_mmsi"], together["new_mmsi"])
    pairs = together.assign(a=lo, b=hi).drop_duplicates(["a", "b"])
    rows = []
    cols = ["timestamp", "lat", "lon", "track", "name_norm"]
    for a, b in zip(pairs["a"], pairs["b"], strict=True):  # a few pairs, not pings
        pa = tracks.loc[tracks["mmsi"] == a, cols].sort_values("timestamp")
        pb = tracks.loc[tracks["mmsi"] == b, cols].sort_values("timestamp")
        few, many = (pa, pb) if len(pa) <= len(pb) else (pb, pa)
        both = pd.merge_asof(few, many, on="timestamp", direction="nearest",
                             tolerance=pd.Timedelta(hours=ic.pair_h), suffixes=("", "_o"))
        if len(both) < 2 or both["lat_o"].isna().any():
            continue
        km = haversine_km(both["lat"], both["lon"], both["lat_o"], both["lon_o"])
        if float(np.median(km)) > ic.two_transponders_km:
            continue
        start = max(pa["timestamp"].iloc[0], pb["timestamp"].iloc[0])
        end = max(min(pa["timestamp"].iloc[-1], pb["timestamp"].iloc[-1]), start)
        at = pb[pb["timestamp"] >= start].iloc[0]
        name = pb["name_norm"].dropna()
        rows.append({
            "mmsi": b, "track": int(at["track"]), "other_mmsi": a, "mmsi_before": a,
            "start_time": start, "end_time": end, "lat": at["lat"], "lon": at["lon"],
            "name_before": name.iloc[0] if len(name) else None,
            "name_after": name.iloc[0] if len(name) else None,
            "dn": False, "dc": False, "di": False, "n_switches": len(both),
            "n_identities": np.nan, "handover_gap_h": 0.0,
            "handover_km": float(np.median(km)), "two_transponders": 1.0,
        })
    return pd.DataFrame(rows)


def detect(tracks: pd.DataFrame, cfg: Config, window: DataWindow | None = None
           ) -> pd.DataFrame:
    """Identity changes within tracks and MMSI handovers between tracks.

    ``window`` (the scan's span) is accepted and not needed: changes are dated by their own
    pings. Handovers join tracks of different MMSIs on the hull identity, so a partition by
    MMSI would miss them; a partition of whole :func:`hull_groups` answers as the whole.
    Rows come sorted by MMSI, track, start, end and previous MMSI (so the partitions'
    results put back in MMSI order are the whole's)."""
    if tracks.empty:
        return conform(pd.DataFrame(), "identity_change", FEATURES)
    parts = [p for p in (_within_track(tracks, cfg), _mmsi_handovers(tracks, cfg)) if len(p)]
    if not parts:
        return conform(pd.DataFrame(), "identity_change", FEATURES)
    ev = pd.concat(parts, ignore_index=True)
    ev = ev.replace({"<NA>": pd.NA, "nan": pd.NA})
    for col in ("two_transponders", "chain_size", "chain_index", "name_before", "name_after",
                "callsign_before", "callsign_after", "imo_before", "imo_after"):
        if col not in ev.columns:
            ev[col] = np.nan
    ev = _same_columns(ev, tracks)
    ev["two_transponders"] = ev["two_transponders"].fillna(0.0)
    for col in ("dn", "dc", "di"):
        ev[col] = ev[col].fillna(False).astype(bool)
    ev["duration_h"] = (ev["end_time"] - ev["start_time"]).dt.total_seconds() / 3600

    before = flag_of(ev["mmsi_before"].astype("int64"))
    after = flag_of(ev["mmsi"].astype("int64"))
    ev["flag_before"] = before["flag_iso2"].to_numpy()
    ev["flag_after"] = after["flag_iso2"].to_numpy()
    ev["mmsi_changed"] = (ev["mmsi_before"] != ev["mmsi"]).astype(float)
    ev["flag_changed"] = (ev["flag_before"].astype(str) != ev["flag_after"].astype(str)
                          ).astype(float) * ev["mmsi_changed"]
    ev["name_changed"] = ev["dn"].astype(float)
    ev["callsign_changed"] = ev["dc"].astype(float)
    ev["imo_changed"] = ev["di"].astype(float)
    ev["name_distance"] = name_distance(ev["name_before"].astype("string"),
                                        ev["name_after"].astype("string")).fillna(0.0)
    ev["name_edits"] = name_edits(ev["name_before"], ev["name_after"])
    mids = (before["mid"].fillna(0).to_numpy(), after["mid"].fillna(0).to_numpy())
    ev["dprk_involved"] = ((mids[0] == DPRK_MID) | (mids[1] == DPRK_MID)).astype(float)
    foc = ev["flag_before"].isin(FLAGS_OF_CONVENIENCE) | ev["flag_after"].isin(
        FLAGS_OF_CONVENIENCE)
    ev["foc_involved"] = foc.astype(float)
    ev["unallocated_mid"] = (~before["mid_allocated"].to_numpy()
                             | ~after["mid_allocated"].to_numpy()).astype(float)
    imo_after = pd.to_numeric(ev["imo_after"], errors="coerce").astype("Int64")
    ev["imo_invalid"] = (imo_after.notna() & ~imo_valid(imo_after)).astype(float)
    n_ident = ev.groupby(["mmsi"])["name_after"].transform("nunique") + 1
    ev["n_identities"] = ev["n_identities"].fillna(n_ident).astype(float)
    changed = ev[["name_changed", "callsign_changed", "imo_changed", "mmsi_changed"]].sum(axis=1)
    ev = ev[(changed > 0) | (ev["two_transponders"] == 1)].copy()
    km = ev["shared_mmsi_km"] if "shared_mmsi_km" in ev.columns else pd.Series(np.nan,
                                                                               index=ev.index)
    ev["shared_mmsi"] = km.notna().astype(float)
    ev["passes_rule"] = True
    ev["context"] = [_context(r) for r in ev.to_dict("records")]
    ev = ev.drop(columns=["dn", "dc", "di"]).sort_values(
        ["mmsi", "track", "start_time", "end_time", "mmsi_before", "two_transponders"],
        kind="stable", ignore_index=True)
    return conform(ev, "identity_change", FEATURES)


#: The rows' columns before the features, in the order of a change within a track.
_ROW_COLUMNS = ("mmsi", "track", "start_time", "lat", "lon", "before_last_time",
                "name_before", "name_after", "dn", "callsign_before", "callsign_after", "dc",
                "imo_before", "imo_after", "di", "end_time", "name_switches", "n_identities",
                "chain", "n_switches", "chain_size", "chain_index", "shared_mmsi_km",
                "other_mmsi", "mmsi_before", "handover_gap_h", "handover_km",
                "two_transponders")
_TEXT = ("name_before", "name_after", "callsign_before", "callsign_after", "imo_before",
         "imo_after")


def _same_columns(ev: pd.DataFrame, tracks: pd.DataFrame) -> pd.DataFrame:
    """The same columns, in the same order and of the same types, whatever kinds of rows
    were found: a partition that holds handovers only answers with the whole's frame."""
    missing = {"before_last_time": pd.Series(pd.NaT, index=ev.index,
                                             dtype=tracks["timestamp"].dtype),
               "name_switches": np.nan, "chain": np.nan, "shared_mmsi_km": np.nan}
    ev = ev.assign(**{c: v for c, v in missing.items() if c not in ev.columns})
    for col in _TEXT:
        ev[col] = ev[col].astype("str")
    first = [c for c in _ROW_COLUMNS if c in ev.columns]
    return ev[first + [c for c in ev.columns if c not in first]]


def _context(r: dict) -> str:
    """What changed, in a few words (the CSV's ``context``)."""
    if r.get("two_transponders") == 1:
        return (f"two transponders: MMSIs {r['other_mmsi']} and {r['mmsi']} of one hull "
                f"identity report from the same place over the same hours ("
                f"{r['n_switches']:.0f} reports paired, median {r['handover_km'] * 1000:.0f} m "
                "apart): one hull, not a handover")
    what = [w for w, on in (("new MMSI", r["mmsi_changed"] == 1), ("name", r["dn"]),
                            ("call sign", r["dc"]), ("IMO", r["di"])) if on]
    parts = [", ".join(what)]
    size: Any = r.get("chain_size")
    chain = r.get("chain")
    if r["dn"] and pd.notna(size) and size > 1 and isinstance(chain, list):
        parts.append(f"rename {int(r['chain_index'])} of {int(size)} in this track: "
                     + " -> ".join(str(c) for c in chain))
    k: Any = r.get("n_identities")
    n: Any = r.get("n_switches")
    if pd.notna(k) and pd.notna(n) and n > max(k - 1, 1):
        parts.append(f"{int(n)} switches back and forth among {int(k)} names")
    if r.get("shared_mmsi") == 1:
        parts.append(f"shared MMSI: another ship {r['shared_mmsi_km']:,.0f} km away broadcast "
                     "the same new name under this MMSI, so the static report may be the "
                     "other ship's")
    return "; ".join(p for p in parts if p)


def reason(ev: pd.Series) -> str:
    """One sentence for a identity change row: what happened, with numbers and units."""
    parts = []
    if ev.get("two_transponders") == 1:
        return (f"One hull, two transponders: MMSI {ev['mmsi']} and MMSI {ev['other_mmsi']} "
                "send the same hull identity from the same place over the same hours "
                f"({num(float(ev.get('handover_km', 0) or 0) * 1000, 0)} m apart in median "
                f"over {num(ev.get('n_switches'), 0)} paired reports), {where(ev)}")
    if ev.get("mmsi_changed") == 1:
        fb, fa = ev.get("flag_before") or "?", ev.get("flag_after") or "?"
        parts.append(f"new MMSI {ev['mmsi']} ({fa}) took over from {ev['other_mmsi']} ({fb}) "
                     f"{num(ev.get('handover_gap_h'))} h and {num(ev.get('handover_km'))} km "
                     "apart with the same hull identity")
    if ev.get("name_changed") == 1:
        parts.append(f"name '{ev.get('name_before')}' -> '{ev.get('name_after')}'")
    if ev.get("callsign_changed") == 1:
        parts.append(f"call sign {ev.get('callsign_before')} -> {ev.get('callsign_after')}")
    if ev.get("imo_changed") == 1:
        parts.append(f"IMO {ev.get('imo_before')} -> {ev.get('imo_after')}")
    text = "Identity change: " + "; ".join(parts)
    n = ev.get("n_switches")
    k = ev.get("n_identities")
    size = ev.get("chain_size")
    if pd.notna(size) and float(size) > 1 and ev.get("name_changed") == 1:
        text += (f" (rename {int(ev.get('chain_index'))} of {int(size)} in this track"
                 + (f", {int(n)} switches among {int(k)} names" if pd.notna(n) and pd.notna(k)
                    and float(n) > float(size) else "") + ")")
    elif pd.notna(n) and float(n) > 1 and pd.notna(k) and float(k) > 2:
        text += f" ({int(n)} changes among {int(k)} names)"
    elif pd.notna(n) and float(n) > 1:
        text += f" ({int(n)} switches back and forth)"
    if ev.get("shared_mmsi") == 1:
        text += (f"; another ship {num(ev.get('shared_mmsi_km'), 0)} km away broadcast the "
                 "same new name under this MMSI at about the same time (a shared MMSI), so "
                 "the name may be the other ship's")
    return text + f", {where(ev)}"


def decisive(events: pd.DataFrame, cfg: Config) -> np.ndarray:
    """A flag change, or a change involving a DPRK MMSI, is flagged on its rule alone."""
    zero = pd.Series(0.0, index=events.index)
    return ((events.get("flag_changed", zero) == 1)
            | (events.get("dprk_involved", zero) == 1)).to_numpy()
