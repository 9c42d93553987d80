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

import numpy as np
import pandas as pd

from ais.config import Config
from ais.db import connect
from ais.events import conform
from ais.geo import haversine_km
from ais.identity import DPRK_MID, FLAGS_OF_CONVENIENCE, flag_of, imo_valid, name_distance

FEATURES: tuple[str, ...] = (
    "name_changed", "callsign_changed", "imo_changed", "mmsi_changed", "flag_changed",
    "name_distance", "n_switches", "n_identities", "dprk_involved", "foc_involved",
    "unallocated_mid", "imo_invalid", "handover_gap_h", "handover_km",
)

# letters and digits only; all-zero values ('0', '0000000') mean "not available"
_KEY = "nullif(regexp_replace(regexp_replace({c}, '[^A-Z0-9]', '', 'g'), '^0+$', ''), '')"


def _kept(col: str, min_pings: int, min_h: float) -> str:
    w = f"OVER (PARTITION BY mmsi, track, {col})"
    return (f"CASE WHEN count(*) {w} >= {min_pings} AND "
            f"epoch(max(timestamp) {w} - min(timestamp) {w}) >= {min_h * 3600} THEN {col} END")


def _within_track(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """One row per (track, pair of identities) with the first and last switch."""
    min_pings = cfg.identity_change.min_pings_per_identity
    min_h = cfg.identity_change.min_identity_h
    con = connect()
    con.register("every", tracks[["mmsi", "track", "timestamp", "lat", "lon", "name",
                                  "name_norm", "callsign_norm", "imo"]])
    # Only tracks that broadcast two values of a field can change identity (the keys below
    # are functions of these fields): one hash aggregate leaves the per-ping windows the few
    # tracks that matter.
    con.execute("""
        CREATE TEMP VIEW t AS
        SELECT * FROM every SEMI JOIN (
            SELECT mmsi, track FROM every GROUP BY mmsi, track
            HAVING min(name_norm) <> max(name_norm) OR min(callsign_norm) <> max(callsign_norm)
                OR min(imo) <> max(imo)
        ) USING (mmsi, track)
    """)
    rows = con.execute(f"""
        WITH keyed AS (
            SELECT *, {_KEY.format(c="name_norm")} AS nk, {_KEY.format(c="callsign_norm")} AS ck,
                CAST(imo AS VARCHAR) AS ik
            FROM t
        ),
        counted AS (   -- identities seen too rarely or too briefly are treated as unknown
            SELECT * REPLACE (
                {_kept("nk", min_pings, min_h)} AS nk,
                {_kept("ck", min_pings, min_h)} AS ck,
                {_kept("ik", min_pings, min_h)} AS ik)
            FROM keyed
        ),
        -- "the last identity broadcast before this ping" without a frame that grows with
        -- the track (last_value IGNORE NULLS over UNBOUNDED PRECEDING is quadratic on one
        -- vessel with millions of pings): number the runs that start at each non-null
        -- value, spread the run's value over it, and take the previous ping's
        runs AS (
            SELECT *,
                count(nk) OVER w AS gn, count(ck) OVER w AS gc, count(ik) OVER w AS gi
            FROM counted
            WINDOW w AS (PARTITION BY mmsi, track ORDER BY timestamp
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        spread AS (
            SELECT *,
                max(nk) OVER (PARTITION BY mmsi, track, gn) AS nk_run,
                max(CASE WHEN nk IS NOT NULL THEN name_norm END)
                    OVER (PARTITION BY mmsi, track, gn) AS name_run,
                max(ck) OVER (PARTITION BY mmsi, track, gc) AS ck_run,
                max(ik) OVER (PARTITION BY mmsi, track, gi) AS ik_run
            FROM runs
        ),
        prev AS (
            SELECT * EXCLUDE (gn, gc, gi, nk_run, name_run, ck_run, ik_run),
                lag(nk_run) OVER w AS nk0, lag(ck_run) OVER w AS ck0,
                lag(ik_run) OVER w AS ik0, lag(name_run) OVER w AS name0,
                lag(timestamp) OVER w AS t0
            FROM spread
            WINDOW w AS (PARTITION BY mmsi, track ORDER BY timestamp)
        ),
        changes AS (
            SELECT *,
                coalesce(nk <> nk0, false) AS dn, coalesce(ck <> ck0, false) AS dc,
                coalesce(ik <> ik0, false) AS di
            FROM prev
        )
        SELECT mmsi, track,
            least(coalesce(nk0, ''), coalesce(nk, '')) AS na,
            greatest(coalesce(nk0, ''), coalesce(nk, '')) AS nb,
            least(coalesce(ck0, ''), coalesce(ck, '')) AS ca,
            greatest(coalesce(ck0, ''), coalesce(ck, '')) AS cb,
            least(coalesce(ik0, ''), coalesce(ik, '')) AS ia,
            greatest(coalesce(ik0, ''), coalesce(ik, '')) AS ib,
            bool_or(dn) AS dn, bool_or(dc) AS dc, bool_or(di) AS di,
            arg_min(name0, timestamp) AS name_before, arg_min(name_norm, timestamp) AS name_after,
            arg_min(ck0, timestamp) AS callsign_before, arg_min(ck, timestamp) AS callsign_after,
            arg_min(ik0, timestamp) AS imo_before, arg_min(ik, timestamp) AS imo_after,
            min(t0) AS start_time, max(timestamp) AS end_time,
            arg_min(lat, timestamp) AS lat, arg_min(lon, timestamp) AS lon,
            count(*) AS n_switches
        FROM changes WHERE dn OR dc OR di
        GROUP BY mmsi, track, na, nb, ca, cb, ia, ib
        ORDER BY mmsi, track, start_time
    """).df()
    identities = con.execute(f"""
        SELECT mmsi, track, count(DISTINCT {_KEY.format(c="name_norm")}) AS n_identities
        FROM t GROUP BY ALL
    """).df()
    con.close()
    if rows.empty:
        return rows
    rows = _collapse_chains(rows.merge(identities, on=["mmsi", "track"], how="left"))
    rows["other_mmsi"] = pd.NA
    rows["mmsi_before"] = rows["mmsi"]
    rows["handover_gap_h"] = 0.0
    rows["handover_km"] = 0.0
    return rows.drop(columns=["na", "nb", "ca", "cb", "ia", "ib"])


#: more identity changes than this in one track are one story (a fleet that renames hourly,
#: GFW's fishing-fleet pattern), reported once with the count, not once per change
MAX_CHANGES_PER_TRACK = 3


def _collapse_chains(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per track that changed identity more than ``MAX_CHANGES_PER_TRACK`` times:
    from its first identity to its last, over the whole span, with the switches summed."""
    size = rows.groupby(["mmsi", "track"])["start_time"].transform("size")
    many = rows[size > MAX_CHANGES_PER_TRACK].sort_values(["mmsi", "track", "start_time"])
    if many.empty:
        return rows
    g = many.groupby(["mmsi", "track"], sort=False)
    first, last = g.head(1).set_index(["mmsi", "track"]), g.tail(1).set_index(["mmsi", "track"])
    chain = first.copy()
    for col in ("name_after", "callsign_after", "imo_after"):
        chain[col] = last[col]
    chain["end_time"] = g["end_time"].max()
    chain["n_switches"] = g["n_switches"].sum()
    for col in ("dn", "dc", "di"):
        chain[col] = g[col].any()
    return pd.concat([rows[size <= MAX_CHANGES_PER_TRACK], chain.reset_index()],
                     ignore_index=True).sort_values(["mmsi", "track", "start_time"],
                                                    ignore_index=True)


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


def _mmsi_handovers(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Tracks of one MMSI that end where a track of another MMSI with the same hull starts."""
    ic = cfg.identity_change
    ends = _track_ends(tracks)
    ends = ends[ends["pings"] >= ic.min_pings_per_identity]
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
    ok = (gap_h >= -1.0) & (gap_h <= ic.handover_max_h) & (km <= ic.handover_max_km)
    cand = cand.assign(handover_gap_h=gap_h, handover_km=km)[ok]
    cand = cand.drop_duplicates(["old_mmsi", "old_track", "new_mmsi", "new_track"])
    if cand.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        "mmsi": cand["new_mmsi"], "track": cand["new_track"], "other_mmsi": cand["old_mmsi"],
        "mmsi_before": cand["old_mmsi"],
        "start_time": cand["old_last_time"], "end_time": cand["new_first_time"],
        "lat": cand["new_first_lat"], "lon": cand["new_first_lon"],
        "name_before": cand["old_last_name"], "name_after": cand["new_first_name"],
        "callsign_before": cand["old_last_callsign"],
        "callsign_after": cand["new_first_callsign"],
        "imo_before": cand["old_last_imo"].astype("Int64").astype(str),
        "imo_after": cand["new_first_imo"].astype("Int64").astype(str),
        "dn": _key(cand["old_last_name"]) != _key(cand["new_first_name"]),
        "dc": _key(cand["old_last_callsign"]) != _key(cand["new_first_callsign"]),
        "di": (cand["old_last_imo"].notna() & cand["new_first_imo"].notna()
               & (cand["old_last_imo"] != cand["new_first_imo"])),
        "n_switches": 1, "n_identities": np.nan,
        "handover_gap_h": cand["handover_gap_h"], "handover_km": cand["handover_km"],
    }).reset_index(drop=True)


def _key(names: pd.Series) -> pd.Series:
    return (names.astype("str").str.replace(r"[^A-Z0-9]", "", regex=True)
            .str.replace(r"^0+$", "", regex=True).fillna(""))


def detect(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Identity changes within tracks and MMSI handovers between tracks."""
    if tracks.empty:
        return conform(pd.DataFrame(), "identity_change", FEATURES)
    parts = [p for p in (_within_track(tracks, cfg), _mmsi_handovers(tracks, cfg)) if len(p)]
    if not parts:
        return conform(pd.DataFrame(), "identity_change", FEATURES)
    ev = pd.concat(parts, ignore_index=True)
    ev = ev.replace({"<NA>": pd.NA, "nan": pd.NA})
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
    ev = ev[changed > 0].copy()
    ev["passes_rule"] = True
    what = np.where(ev["mmsi_changed"] == 1, "new MMSI", "")
    ev["context"] = [
        ", ".join(w for w, on in ((m, True), ("name", n), ("call sign", c), ("IMO", i)) if on
                  and w)
        for m, n, c, i in zip(what, ev["name_changed"] == 1, ev["callsign_changed"] == 1,
                              ev["imo_changed"] == 1, strict=True)
    ]
    ev = ev.drop(columns=["dn", "dc", "di"])
    return conform(ev, "identity_change", FEATURES)
