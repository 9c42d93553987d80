"""Dark meetups: a vessel waits at sea (A) while another (B) is silent and could have been
alongside it (GFW treats loitering as a proxy for encounters with silent partners; Skylight's
"dark rendezvous").

Pairs are made from the candidates of two other types, after they are found:

- A: a loitering candidate that passes its rule (and the waits) lasting at least
  ``[dark_meetup] min_loiter_h``, and not during a visible meetup of its own (a partner in
  view explains the wait);
- B: a closed dark-period candidate of another vessel that passes its rule and covers A's
  loitering (it starts no later than ``cover_slack_h`` after A's start and ends no earlier
  than ``cover_slack_h`` before A's end);
- reach: B's last position before the silence and its first after are both within reach of
  A's loitering position at B's plausible speed: its observed top speed (95th percentile of
  its reported speeds, else of its speeds between pings), clipped to ``min_speed_kn`` ..
  ``max_speed_kn``, over great-circle distances times ``detour`` (1.25). ``margin_out_h`` is
  the time B had to spare reaching A by A's start (plus the slack), ``margin_back_h`` the time
  to spare returning from A's end to where B reappeared; both must be >= 0.

One row per pair: ``mmsi`` B (the silent one), ``other_mmsi`` A, start and end A's loitering,
the meeting position A's; ``context`` names A's loitering and B's dark-period event ids, and
:func:`link_back` adds this row's id to theirs. Matching is one merge on time overlap (events,
never pings). No forest (a rarity); :func:`rule_score` ranks by how comfortably B could have
been there: 0.6 + 0.2 when either vessel has a DPRK MMSI + 0.1 when both margins are under
3 h (a tight, purposeful fit), at most 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.config import Config
from ais.events import conform
from ais.geography.geo import haversine_km
from ais.tracking.tracks import vessel_rows

#: What this detector finds, its id prefix (``DMT-...``), the colour of its
#: events on maps, exports and the report, and what ``other_mmsi`` is to it.
EVENT_TYPE = "dark_meetup"
ID_PREFIX = "DMT"
COLOUR = "#f781bf"
OTHER_ROLE = "loiterer"
#: At sea by definition: a candidate on land or at a berth is a wait (:mod:`ais.judging.waits`).
AT_SEA = False
FEATURES: tuple[str, ...] = ()
FOREST = False
#: Candidates of other types this detector pairs (found and annotated before it runs).
NEEDS: tuple[str, ...] = ("loitering", "dark_period", "meetup")
#: Columns of the waits kept from one night to the next (:func:`partners`).
PARTNER_COLUMNS = ("event_id", "mmsi", "start_time", "end_time", "lat", "lon", "duration_h",
                   "passes_rule")
#: Which column of a row names the kept wait it pairs with, and which names the wait's vessel:
#: a row paired with a wait of an earlier night (or window) is stored with the wait's pings
#: the state kept with it, so its map shows the wait
#: (:func:`ais.nightly.carry.with_partner_pings`).
PARTNER_LINK = ("loitering_id", "other_mmsi")
KN_KMH = 1.852


#: The tracks' columns :func:`detect` reads (per vessel: the partners' top speeds).
TRACK_COLUMNS = ("mmsi", "sog", "gap_before_h", "step_km")


def top_speed_kn(tracks: pd.DataFrame, mmsis: np.ndarray, cfg: Config) -> pd.Series:
    """Each vessel's plausible top speed (see the module docstring), indexed by MMSI."""
    c = cfg.dark_meetup
    wanted = np.unique(np.asarray(mmsis, dtype=np.int64))
    out = pd.Series(c.min_speed_kn, index=wanted, dtype=float)
    if not len(wanted) or tracks.empty:
        return out
    rows = vessel_rows(tracks["mmsi"].to_numpy(np.int64), wanted)
    sog = tracks["sog"].to_numpy(float)[rows] if "sog" in tracks.columns else np.full(
        len(rows), np.nan)
    gap = tracks["gap_before_h"].to_numpy(float)[rows]
    step = tracks["step_km"].to_numpy(float)[rows] / KN_KMH / np.where(gap > 0.05, gap, np.nan)
    speed = np.where(np.isfinite(sog), sog, step)
    frame = pd.DataFrame({"mmsi": tracks["mmsi"].to_numpy(np.int64)[rows], "v": speed})
    q = frame.dropna().groupby("mmsi")["v"].quantile(0.95)
    out.loc[q.index] = q.to_numpy()
    return out.clip(c.min_speed_kn, c.max_speed_kn)


def _in_visible_meetup(loi: pd.DataFrame, meet: pd.DataFrame | None) -> np.ndarray:
    """Loitering that overlaps for at least half its length a meetup (passing its rule) of
    the same vessel: the partner is in view, nobody silent is needed to explain the wait."""
    out = np.zeros(len(loi), dtype=bool)
    if meet is None or meet.empty or loi.empty:
        return out
    m = meet[meet["passes_rule"].astype(bool)]
    sides = pd.concat([m[["mmsi", "start_time", "end_time"]],
                       m[["other_mmsi", "start_time", "end_time"]].rename(
                           columns={"other_mmsi": "mmsi"})]).dropna(subset=["mmsi"])
    sides = sides.astype({"mmsi": "int64"}).rename(columns={"start_time": "m0",
                                                            "end_time": "m1"})
    p = loi[["mmsi", "start_time", "end_time", "duration_h"]].reset_index(drop=True) \
        .reset_index().merge(sides, on="mmsi")
    if p.empty:
        return out
    end = p[["end_time", "m1"]].min(axis=1)
    start = p[["start_time", "m0"]].max(axis=1)
    share = (end - start).dt.total_seconds() / 3600 / p["duration_h"].clip(lower=1e-9)
    out[p.loc[share >= 0.5, "index"].unique()] = True
    return out


def _waits(candidates: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The loitering candidates that can be side A (module docstring)."""
    loi = candidates.get("loitering")
    if loi is None or loi.empty:
        return pd.DataFrame(columns=list(PARTNER_COLUMNS))
    a = loi[loi["passes_rule"].astype(bool)
            & (loi["duration_h"] >= cfg.dark_meetup.min_loiter_h)]
    return a[~_in_visible_meetup(a, candidates.get("meetup"))]


def partners(candidates: dict[str, pd.DataFrame], cfg: Config) -> dict[str, pd.DataFrame]:
    """What tonight's pairing may need tomorrow, as rows (events, not pings): the waits (side
    A). A vessel that went dark during a wait that ended tonight reappears tomorrow or later:
    its silence is a dark period of tomorrow's scan, and the wait, long gone from the pings
    carried, comes from here (:func:`ais.nightly.carry.with_earlier`)."""
    return {"loitering": _waits(candidates, cfg)[list(PARTNER_COLUMNS)].reset_index(drop=True)}


def _pairs(cfg: Config, candidates: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The (wait, closed dark period) pairs of other vessels whose times fit: a wait (side
    A) covered by the silence (side B), within ``cover_slack_h``; empty when none."""
    c = cfg.dark_meetup
    dark = candidates.get("dark_period")
    a = _waits(candidates, cfg)
    if dark is None or a.empty or dark.empty:
        return pd.DataFrame()
    b = dark[dark["passes_rule"].astype(bool) & ~dark["is_open"].astype(bool)
             & dark["end_time"].notna()]
    if a.empty or b.empty or "end_lat" not in b.columns:
        return pd.DataFrame()
    a = a[["event_id", "mmsi", "start_time", "end_time", "lat", "lon", "duration_h"]].rename(
        columns=lambda k: f"a_{k}")
    b = b[["event_id", "mmsi", "track", "start_time", "end_time", "lat", "lon", "end_lat",
           "end_lon"]].rename(columns=lambda k: f"b_{k}")
    slack = pd.Timedelta(hours=c.cover_slack_h)
    pairs = a.merge(b, how="cross")
    return pairs[(pairs["a_mmsi"] != pairs["b_mmsi"])
                 & (pairs["b_start_time"] <= pairs["a_start_time"] + slack)
                 & (pairs["b_end_time"] >= pairs["a_end_time"] - slack)]


def track_vessels(cfg: Config, candidates: dict[str, pd.DataFrame]) -> np.ndarray:
    """The vessels whose tracks :func:`detect` reads (the silent side of each pair whose
    times fit): a caller holding the tracks elsewhere fetches only theirs."""
    pairs = _pairs(cfg, candidates)
    return (np.unique(pairs["b_mmsi"].to_numpy(np.int64)) if len(pairs)
            else np.empty(0, np.int64))


def detect(tracks: pd.DataFrame, cfg: Config, candidates: dict[str, pd.DataFrame]
           ) -> pd.DataFrame:
    """Dark-meetup rows from annotated loitering and dark-period candidates.

    Each row's ``known_at`` is when the silent vessel reappeared: the night that sees it is
    the one that reports the row, though the wait may have ended on an earlier night."""
    c = cfg.dark_meetup
    slack = pd.Timedelta(hours=c.cover_slack_h)
    pairs = _pairs(cfg, candidates)
    if pairs.empty:
        return conform(pd.DataFrame(), "dark_meetup", FEATURES)
    speed = top_speed_kn(tracks, pairs["b_mmsi"].to_numpy(), cfg)
    v_kmh = speed.reindex(pairs["b_mmsi"].to_numpy()).to_numpy(float) * KN_KMH
    d_out = haversine_km(pairs["b_lat"].to_numpy(float), pairs["b_lon"].to_numpy(float),
                         pairs["a_lat"].to_numpy(float), pairs["a_lon"].to_numpy(float))
    d_back = haversine_km(pairs["a_lat"].to_numpy(float), pairs["a_lon"].to_numpy(float),
                          pairs["b_end_lat"].to_numpy(float), pairs["b_end_lon"].to_numpy(float))
    hours = lambda x: x.dt.total_seconds().to_numpy(float) / 3600  # noqa: E731
    avail_out = hours(pairs["a_start_time"] + slack - pairs["b_start_time"])
    avail_back = hours(pairs["b_end_time"] - (pairs["a_end_time"] - slack))
    margin_out = avail_out - d_out * c.detour / v_kmh
    margin_back = avail_back - d_back * c.detour / v_kmh
    ok = (margin_out >= 0) & (margin_back >= 0)
    p = pairs[ok]
    if p.empty:
        return conform(pd.DataFrame(), "dark_meetup", FEATURES)
    out = pd.DataFrame({
        "mmsi": p["b_mmsi"].to_numpy(np.int64),
        "other_mmsi": p["a_mmsi"].to_numpy(np.int64),
        "track": p["b_track"].to_numpy(),
        "start_time": p["a_start_time"].to_numpy(),
        "end_time": p["a_end_time"].to_numpy(),
        "duration_h": p["a_duration_h"].to_numpy(float),
        "lat": p["a_lat"].to_numpy(float),
        "lon": p["a_lon"].to_numpy(float),
        "passes_rule": True,
        "distance_out_km": d_out[ok],
        "distance_back_km": d_back[ok],
        "speed_cap_kn": v_kmh[ok] / KN_KMH,
        "needed_out_kn": d_out[ok] * c.detour / np.maximum(avail_out[ok], 1e-6) / KN_KMH,
        "needed_back_kn": d_back[ok] * c.detour / np.maximum(avail_back[ok], 1e-6) / KN_KMH,
        "margin_out_h": margin_out[ok],
        "margin_back_h": margin_back[ok],
        "loitering_id": p["a_event_id"].to_numpy(),
        "dark_id": p["b_event_id"].to_numpy(),
        "known_at": pd.DatetimeIndex(p["b_end_time"]),
    })
    out["context"] = ("loitering " + out["loitering_id"] + " of " + out["other_mmsi"].astype(str)
                      + "; dark period " + out["dark_id"] + " of " + out["mmsi"].astype(str))
    return conform(out.sort_values(["mmsi", "start_time"], kind="stable"), "dark_meetup",
                   FEATURES)


def link_back(candidates: dict[str, pd.DataFrame], meets: pd.DataFrame
              ) -> dict[str, pd.DataFrame]:
    """The loitering and dark-period candidates with each pairing dark meetup's id (and the
    partner's event id) added to their ``context``; new frames."""
    out = dict(candidates)
    if meets.empty:
        return out
    for etype, own, other in (("loitering", "loitering_id", "dark_id"),
                              ("dark_period", "dark_id", "loitering_id")):
        ev = out[etype].copy()
        words = (meets.groupby(own)
                 .apply(lambda g, o=other: "; ".join(
                     f"dark meetup {i} with {x}" for i, x in zip(g["event_id"], g[o],
                                                                 strict=True)),
                        include_groups=False))
        extra = ev["event_id"].map(words)
        has = extra.notna()
        ev.loc[has, "context"] = (ev.loc[has, "context"].astype(str) + "; "
                                  + extra[has].astype(str))
        out[etype] = ev
    return out


def rule_score(ev: pd.DataFrame) -> np.ndarray:
    """The documented score (module docstring)."""
    dprk = (ev["mmsi"].astype("int64") // 1_000_000 == 445) | (
        pd.to_numeric(ev["other_mmsi"], errors="coerce").fillna(0).astype("int64")
        // 1_000_000 == 445)
    tight = (ev["margin_out_h"] < 3) & (ev["margin_back_h"] < 3)
    return np.clip((0.6 + 0.2 * dprk + 0.1 * tight).to_numpy(float), 0, 1)


def reason(ev: pd.Series) -> str:
    """One sentence with the reach margins each way."""
    return (f"Silent while {ev['other_mmsi']} waited at sea {float(ev['duration_h']):.1f} h: "
            f"could have been alongside, {float(ev['distance_out_km']):.0f} km from where it "
            f"went dark (needs {float(ev['needed_out_kn']):.1f} kn of its "
            f"{float(ev['speed_cap_kn']):.1f} kn, {float(ev['margin_out_h']):.1f} h to spare) "
            f"and {float(ev['distance_back_km']):.0f} km to where it reappeared (needs "
            f"{float(ev['needed_back_kn']):.1f} kn, {float(ev['margin_back_h']):.1f} h to "
            "spare)")


def decisive(events: pd.DataFrame, cfg: Config) -> np.ndarray:
    """Scored by :func:`rule_score` alone; nothing overrides it."""
    return np.zeros(len(events), dtype=bool)
