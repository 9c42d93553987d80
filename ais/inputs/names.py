"""Names, call signs and IMO numbers compared as people read them.

- **Same name, other spelling.** Names are compared on their letters and digits
  (:data:`KEY_SQL`), so '@' padding ('PEI YUH NO.6@@@@@@BL'), case, spacing and punctuation
  never count. Within one track a key that is the start or the end of exactly one longer key
  is that name cut short ('JI' of 'JIANGSUTUO2200', '208' of 'HUA YING 208'); one that is part
  of two different longer names is left unread (:func:`variant_map`).
- **One static report is evidence.** An identity seen once is real when it is consistent
  (:func:`consistent`): a name of AIS text characters with enough letters or digits, a call
  sign of 3-7 letters and digits, an IMO number whose check digit holds. Anything else has to
  be broadcast in ``min_pings`` pings over ``min_h`` hours to count (a garbled one-off is not
  a rename).

Python loops here run over the *distinct* identities of a track (a handful), never over pings.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ais.inputs.identity import imo_valid

#: letters and digits only; all-zero values ('0', '0000000') mean "not available"
KEY_SQL = "nullif(regexp_replace(regexp_replace({c}, '[^A-Z0-9]', '', 'g'), '^0+$', ''), '')"

# characters real ship names use (AIS 6-bit text, minus the symbols that only garbling makes)
_NAME_OK = re.compile(r"^[A-Z0-9 .,\-'/&()]+$")
_CALLSIGN_OK = re.compile(r"^[A-Z0-9]{3,7}$")


def key(values: pd.Series) -> pd.Series:
    """The comparison key of normalised names or call signs: letters and digits only."""
    out = (values.astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
           .str.replace(r"^0+$", "", regex=True))
    return out.mask(out == "")


def consistent(field: str, display: pd.Series, keys: pd.Series) -> pd.Series:
    """Whether a single report of this identity can be believed (not garbled)."""
    if field == "imo":
        return imo_valid(pd.to_numeric(keys, errors="coerce").astype("Int64"))
    text = display.astype("string").fillna("")
    k = keys.astype("string").fillna("")
    if field == "callsign":
        ok = k.str.match(_CALLSIGN_OK.pattern) & (text.str.replace(" ", "") == k)
    else:
        visible = text.str.replace(" ", "").str.len()
        ok = (text.str.match(_NAME_OK.pattern) & (k.str.len() >= 3)
              & (k.str.len() >= 0.6 * visible.clip(lower=1)))
    return ok.fillna(False).astype(bool)


def _cut_short(short: str, full: str) -> bool:
    """Whether key ``short`` is ``full`` cut at its end or its start, never inside a number
    ('LIAOYU1' is not 'LIAOYU12' cut short: the numbers differ)."""
    if len(short) >= len(full):
        return False
    if full.startswith(short) and not (short[-1].isdigit() and full[len(short)].isdigit()):
        return True
    return full.endswith(short) and not (short[0].isdigit()
                                         and full[len(full) - len(short) - 1].isdigit())


def variant_map(distinct: pd.DataFrame, group: list[str]) -> pd.Series:
    """For each row of ``distinct`` (one distinct ``key`` per ``group``), the key of the name it
    is a cut-short form of: itself, the one longer key of its group that starts or ends with
    it, or <NA> when two different longer names do (ambiguous)."""
    out = distinct["key"].astype(object).to_numpy(copy=True)
    for _, idx in distinct.groupby(group, sort=False).indices.items():
        if len(idx) < 2:
            continue
        keys = [str(k) for k in distinct["key"].to_numpy()[idx]]
        for j, k in zip(idx, keys, strict=True):
            longer = [b for b in keys if _cut_short(k, b)]
            if not longer:
                continue
            tops = {b for b in longer if not any(_cut_short(b, c) for c in longer)}
            out[j] = tops.pop() if len(tops) == 1 else None
    return pd.Series(out, index=distinct.index, dtype=object)


def first_broadcasts(obs: pd.DataFrame, field: str, min_pings: int, min_h: float
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New identities of one field, each dated at its first broadcast, and per-track counts.

    Args:
        obs: pings of the candidate tracks sorted by (mmsi, track, timestamp), with
            ``key`` and ``display`` of this field (rows without a value may be absent).
        field: 'name', 'callsign' or 'imo'.

    Returns:
        ``(changes, per_track)``: one row per identity first broadcast after another one in
        its track (mmsi, track, timestamp, lat, lon, before, after, before_last_time), and
        per track the ``switches`` (every change, returns included), the ``identities``
        (distinct) and their display names in order of first broadcast (``chain``).
    """
    o = obs.dropna(subset=["key"])
    if o.empty:
        return pd.DataFrame(), pd.DataFrame()
    grp = ["mmsi", "track"]
    distinct = (o.groupby([*grp, "key"], sort=False, observed=True)
                .agg(n=("timestamp", "size"), t0=("timestamp", "min"),
                     t1=("timestamp", "max"), display=("display", "first")).reset_index())
    if field != "imo":
        distinct["canon"] = variant_map(distinct, grp)
    else:
        distinct["canon"] = distinct["key"]
    # the canonical identity's count, span and display (its longest spelling)
    canon = distinct.dropna(subset=["canon"])
    stats = canon.groupby([*grp, "canon"], sort=False).agg(
        n=("n", "sum"), t0=("t0", "min"), t1=("t1", "max")).reset_index()
    shown = distinct[distinct["key"] == distinct["canon"]][[*grp, "key", "display"]].rename(
        columns={"key": "canon"})
    stats = stats.merge(shown, on=[*grp, "canon"], how="left")
    long_enough = (stats["n"] >= min_pings) & (
        (stats["t1"] - stats["t0"]).dt.total_seconds() >= min_h * 3600)
    stats = stats.assign(brief=~long_enough.to_numpy())[
        long_enough | consistent(field, stats["display"], stats["canon"]).to_numpy()]
    lookup = distinct.merge(stats[[*grp, "canon", "brief"]], on=[*grp, "canon"])[
        [*grp, "key", "canon", "brief"]]
    o = o.merge(lookup, on=[*grp, "key"], how="inner").sort_values([*grp, "timestamp"],
                                                                     kind="stable")
    o = _without_excursions(o, grp)
    if o.empty:
        return pd.DataFrame(), pd.DataFrame()
    display = stats.set_index([*grp, "canon"])["display"]
    same_track = (o["mmsi"].to_numpy()[1:] == o["mmsi"].to_numpy()[:-1]) & (
        o["track"].to_numpy()[1:] == o["track"].to_numpy()[:-1])
    c = o["canon"].to_numpy()
    change = np.r_[False, same_track & (c[1:] != c[:-1])]
    first = ~o.duplicated([*grp, "canon"]).to_numpy()
    prev = o.shift(1)
    new = o[change & first].assign(before_key=prev["canon"][change & first],
                                   before_last_time=prev["timestamp"][change & first])
    o = o.assign(change=change)
    per_track = o.groupby(grp, sort=False).agg(
        switches=("change", "sum"), identities=("canon", "nunique")).reset_index()
    order = o[first].groupby(grp, sort=False)["canon"].agg(list).reset_index()
    order["chain"] = [[display.get((m, t, k)) for k in ks]
                      for m, t, ks in zip(order["mmsi"], order["track"], order["canon"],
                                          strict=True)]
    per_track = per_track.merge(order[[*grp, "chain"]], on=grp, how="left")
    changes = pd.DataFrame({
        "mmsi": new["mmsi"].to_numpy(), "track": new["track"].to_numpy(),
        "timestamp": new["timestamp"].to_numpy(), "lat": new["lat"].to_numpy(),
        "lon": new["lon"].to_numpy(),
        "before": [display.get((m, t, k)) for m, t, k in zip(new["mmsi"], new["track"],
                                                              new["before_key"], strict=True)],
        "after": [display.get((m, t, k)) for m, t, k in zip(new["mmsi"], new["track"],
                                                             new["canon"], strict=True)],
        "before_last_time": new["before_last_time"].to_numpy(),
        "field": field,
    })
    return changes, per_track


def _without_excursions(o: pd.DataFrame, grp: list[str]) -> pd.DataFrame:
    """Drop brief identities (one or a few reports) that are only ever excursions: the
    track broadcasts A, then briefly B, then A again. A real rename does not revert minutes
    later; a one-off report that is followed by nothing or by another name still counts."""
    if not o["brief"].any():
        return o
    m, t, c = (o[k].to_numpy() for k in (*grp, "canon"))
    start = np.r_[True, (m[1:] != m[:-1]) | (t[1:] != t[:-1]) | (c[1:] != c[:-1])]
    run = np.cumsum(start) - 1
    firsts = np.flatnonzero(start)
    track_start = np.r_[True, (m[firsts][1:] != m[firsts][:-1])
                        | (t[firsts][1:] != t[firsts][:-1])]
    canon = c[firsts].astype(object)
    prev = np.r_[[None], canon[:-1]].astype(object)
    nxt = np.r_[canon[1:], [None]].astype(object)
    prev[track_start] = None
    track_end = np.r_[track_start[1:], True]
    nxt[track_end] = None
    excursion = pd.Series([p is not None and p == n for p, n in zip(prev, nxt, strict=True)])
    runs = pd.DataFrame({"mmsi": m[firsts], "track": t[firsts], "canon": canon,
                         "excursion": excursion.to_numpy()})
    only = runs.groupby(["mmsi", "track", "canon"])["excursion"].transform("all").to_numpy()
    drop_run = only & o["brief"].to_numpy()[firsts]
    return o[~drop_run[run]]


def edits(a: str, b: str, cap: int = 3) -> int:
    """Character edits (insert, delete, substitute) between two name keys, at most ``cap``:
    1 is a typo fixed or a digit added ('LURONGYU0788' -> 'LURONGYU50788'); a new hull
    number ('LURONGYU 9485' -> 'LURONGYU 2903') is several."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return min(prev[-1], cap)


def name_edits(before: pd.Series, after: pd.Series) -> pd.Series:
    """:func:`edits` between the keys of two name columns (NaN where either is missing);
    one call per distinct pair."""
    kb, ka = key(before.astype("string")), key(after.astype("string"))
    pairs = {(x, y) for x, y in zip(kb, ka, strict=True) if pd.notna(x) and pd.notna(y)}
    found = {p: edits(*p) for p in pairs}
    return pd.Series([found.get((x, y), np.nan) if pd.notna(x) and pd.notna(y) else np.nan
                      for x, y in zip(kb, ka, strict=True)], index=before.index, dtype=float)
