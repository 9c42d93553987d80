"""From one night to the next, as pure functions of frames (``ais/nightly/state.py`` stores them).

- :func:`night_of`: the data window a scan covers.
- :func:`carry_out`: the pings tomorrow needs from tonight (each vessel's recent reporting,
  every ping of an event still going on at the end of the night).
- :func:`reconcile`: give tonight's events the ids of the events they continue, say which are
  new, and keep the ones that touch tonight (events wholly inside the carried pings were
  reported on their own night).
- :func:`with_earlier` and :func:`partners_out`: the candidates a paired detector keeps as rows
  from one night to the next (a wait that ended tonight, for a silence that ends tomorrow).
- :func:`identities_of`: each vessel's identities tonight, for ``ais history``.
- :func:`kept_event_pings`: the pings of tonight's flagged events the state keeps for maps
  and exports, thinned (:func:`thin_pings`), built a few hundred events at a time so a
  dense night never holds every event's whole window at once.
- :func:`kept_partner_pings`: the same of each row tonight keeps for a paired detector (a
  wait), and :func:`with_partner_pings`: an event paired on a later night with a kept row
  (a dark meetup with an earlier wait) stored with the row's pings, so its map shows both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ais.db import connect, fetch_frame, plain_text
from ais.inputs.ingest import OUTPUT_COLUMNS
from ais.nightly.state import CarryConfig, Night
from ais.tracking.tracks import epoch_ns

EVENT_PING_COLUMNS = (
    "mmsi", "timestamp", "lat", "lon", "sog", "cog", "heading", "name", "callsign", "imo",
    "ship_type", "vessel_class", "track", "segment", "gap_before_h",
)


def night_of(pings: pd.DataFrame, since: str | None, until: str | None) -> Night | None:
    """``--since``/``--until`` when given, else the first and last ping; None if no ping."""
    times = pings["timestamp"] if len(pings) else pd.Series(dtype="datetime64[us, UTC]")
    return night_span(times.min() if len(times) else None,
                      times.max() if len(times) else None, since, until)


def night_span(first: pd.Timestamp | None, last: pd.Timestamp | None, since: str | None,
               until: str | None) -> Night | None:
    """:func:`night_of` from the first and last ping (None: no ping)."""
    start = pd.Timestamp(since, tz="UTC") if since else first
    end = pd.Timestamp(until, tz="UTC") if until else last
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return None
    return Night(pd.Timestamp(start), pd.Timestamp(end))


def combine(carried: pd.DataFrame, tonight: pd.DataFrame) -> pd.DataFrame:
    """Carried pings then tonight's, sorted by (mmsi, timestamp) like ingest's output (a
    carried ping before tonight's of the same time). Built one column at a time from both
    frames in one order (no concatenated frame beside the sorted one): a dense night's carry
    is as large as the night."""
    if carried.empty:
        return tonight
    columns = list(tonight.columns)
    mmsi = np.concatenate([carried["mmsi"].to_numpy(np.int64), tonight["mmsi"].to_numpy(np.int64)])
    ts = np.concatenate([epoch_ns(carried["timestamp"]), epoch_ns(tonight["timestamp"])])
    order = np.lexsort((ts, mmsi))  # stable: the carried ping first on a tie
    del mmsi, ts
    out = {}
    for c in columns:
        new = tonight[c]
        old = carried[c] if c in carried.columns else pd.Series(
            None, index=carried.index, dtype=object)
        if isinstance(new.dtype, pd.CategoricalDtype):  # text: tonight's values and the carry's
            if not isinstance(old.dtype, pd.CategoricalDtype):
                old = old.astype("category")
            cats = new.cat.categories.astype(str).union(old.cat.categories.astype(str))
            dtype = pd.CategoricalDtype(np.sort(cats.to_numpy(dtype=object)))
            both = pd.concat([old.astype(dtype), new.astype(dtype)], ignore_index=True)
        else:
            both = pd.concat([old, new], ignore_index=True)
            if both.dtype != new.dtype:
                both = both.astype(new.dtype)
        out[c] = both.take(order).reset_index(drop=True)
        del both
    return pd.DataFrame(out, columns=columns)


def _ns(value: pd.Timestamp | pd.Series) -> np.ndarray | int:
    if isinstance(value, pd.Series):
        return epoch_ns(pd.to_datetime(value, utc=True))
    return int(pd.Timestamp(value).as_unit("ns").value)


def carry_out(tracks: pd.DataFrame, candidates: dict[str, pd.DataFrame], night: Night,
              cfg: CarryConfig, identities: pd.DataFrame | None = None,
              flagged: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pings to carry into the next night (ingest columns, sorted by mmsi, timestamp):
    each vessel's last ``vessel_tail_h`` of reporting and the first and last ping of each
    identity (name, call sign, IMO) it used, unless it has been silent for more than
    ``keep_days``, and every ping since ``event_pad_h`` before the start of an event still
    going on at the end of the night (at most ``max_event_carry_h`` of it: a longer event
    keeps its id and start through :func:`reconcile`). ``identities`` is
    :func:`identities_of` the same frame, if already computed.

    ``flagged``: tonight's flagged events. When given, an unfinished candidate of a vessel in
    none of them (in a dense region: every ship at anchor, every slow fisher) carries its
    pings older than the vessel's tail thinned to the first and the last of each
    ``unflagged_every_s`` (both ends of every longer gap stay): its start, hence its id and
    its duration, come out the same tomorrow, at a fraction of the pings.
    Vectorised over the (mmsi, timestamp) order."""
    cols = [c for c in OUTPUT_COLUMNS if c in tracks.columns]
    if tracks.empty:
        return tracks[cols]
    order = None
    mmsi = tracks["mmsi"].to_numpy()
    ts = epoch_ns(tracks["timestamp"])
    if len(mmsi) > 1 and ((np.diff(mmsi) < 0).any()
                          or ((np.diff(mmsi) == 0) & (np.diff(ts) < 0)).any()):
        order = np.lexsort((ts, mmsi))
        mmsi, ts = mmsi[order], ts[order]
    starts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]])
    counts = np.diff(np.r_[starts, len(mmsi)])
    last = np.repeat(ts[starts + counts - 1], counts)
    hour = 3_600_000_000_000
    keep = ((last >= _ns(night.end) - int(cfg.keep_days * 24 * hour))
            & (ts >= last - int(cfg.vessel_tail_h * hour)))

    # each identity's first and last ping (identity history: tomorrow's names are compared
    # with every name the vessel used lately, however long ago it last reported them)
    ids = identities if identities is not None else identities_of(tracks)
    # ... of vessels with more than one: a vessel that kept one identity has it in its tail,
    # and its first ping of the night alone, hours before the tail, would be a gap tomorrow
    # (every vessel of a dense night a dark-period candidate to judge again, and discard)
    ids = ids[ids.groupby("mmsi")["mmsi"].transform("size").to_numpy() > 1]
    anchors = np.r_[ids["first_row"].to_numpy(np.int64), ids["last_row"].to_numpy(np.int64)]
    if order is not None:  # positions in the frame given -> positions in (mmsi, time) order
        where = np.empty_like(order)
        where[order] = np.arange(len(order))
        anchors = where[anchors]
    keep[anchors[last[anchors] >= _ns(night.end) - int(cfg.keep_days * 24 * hour)]] = True

    # events still going on when the night ends: carry their vessels' pings from their start
    pad = pd.Timedelta(hours=cfg.event_pad_h)
    vessels, since, began = [], [], []
    for ev in candidates.values():
        if ev.empty:
            continue
        going_on = ev[ev["is_open"].astype(bool) | (ev["end_time"] >= night.end - pad)]
        for col in ("mmsi", "other_mmsi"):
            side = going_on[[col, "start_time"]].dropna()
            vessels.append(side[col].astype("int64").to_numpy())
            began.append(_ns(side["start_time"]))
            since.append(np.maximum(began[-1] - int(cfg.event_pad_h * hour),
                                    _ns(night.end) - int(cfg.max_event_carry_h * hour)))
    if vessels:
        unique = mmsi[starts]
        first = np.full(len(unique), np.iinfo(np.int64).max)
        v, t = np.concatenate(vessels), np.concatenate(since)
        t_began = np.concatenate(began)
        at = np.searchsorted(unique, v)
        found = (at < len(unique)) & (unique[np.minimum(at, len(unique) - 1)] == v)
        np.minimum.at(first, at[found], t[found])
        since_event = ts >= np.repeat(first, counts)
        if flagged is not None:
            whole = np.isin(unique, event_vessels(flagged))
            every = max(int(cfg.unflagged_every_s), 1) * 1_000_000_000
            bucket = ts // every
            vessel_start = np.zeros(len(ts), dtype=bool)
            vessel_start[starts] = True
            edge = np.r_[True, (bucket[1:] != bucket[:-1]) | vessel_start[1:]]
            edge |= np.r_[edge[1:], True]
            near = _near_starts(np.repeat(np.arange(len(unique)), counts), ts,
                                at[found], t_began[found], int(cfg.start_whole_h * hour))
            since_event &= np.repeat(whole, counts) | edge | near
        keep |= since_event
    picked = np.flatnonzero(keep) if order is None else order[keep]
    return tracks.iloc[picked][cols].reset_index(drop=True)


def _near_starts(rank: np.ndarray, ts: np.ndarray, vessels: np.ndarray, starts: np.ndarray,
                 reach_ns: int) -> np.ndarray:
    """Which rows lie within ``reach_ns`` of one of the ``starts`` of the same vessel: rows
    in (vessel, time) order, ``rank`` each row's vessel number in that order, ``vessels``
    the vessel number of each start. Two searches on a (vessel, second) key, then a running
    count of the intervals open at each row (to the second: a row in the same second as an
    interval's end counts as inside)."""
    if not len(vessels) or not len(ts):
        return np.zeros(len(ts), dtype=bool)
    second = ts // 1_000_000_000
    t0 = int(second.min()) - reach_ns // 1_000_000_000 - 1
    span = int(second.max()) + reach_ns // 1_000_000_000 + 2 - t0
    key = rank * span + (second - t0)
    base = vessels * span - t0
    lo_s = np.clip((starts - reach_ns) // 1_000_000_000, t0, t0 + span - 1)
    hi_s = np.clip((starts + reach_ns) // 1_000_000_000, t0, t0 + span - 1)
    lo = np.searchsorted(key, base + lo_s, "left")
    hi = np.searchsorted(key, base + hi_s, "right")
    depth = np.zeros(len(ts) + 1, dtype=np.int64)
    np.add.at(depth, lo, 1)
    np.add.at(depth, hi, -1)
    return np.cumsum(depth[:-1]) > 0


def event_vessels(events: pd.DataFrame) -> np.ndarray:
    """The MMSIs taking part in ``events`` (``mmsi`` and ``other_mmsi``)."""
    if events.empty:
        return np.empty(0, dtype=np.int64)
    both = pd.concat([pd.to_numeric(events[c], errors="coerce")
                      for c in ("mmsi", "other_mmsi") if c in events.columns])
    return both.dropna().astype("int64").unique()


def reconcile(events: pd.DataFrame, reported: pd.DataFrame, night: Night) -> pd.DataFrame:
    """Tonight's flagged events with continuing ids, ``status`` and ``first_reported``.

    An event continues one first reported on an earlier night when it has the same id, or
    the same type and vessels and overlaps it in time (within 10 minutes): it then keeps the
    reported id and its earlier start (one to one). Events that end before tonight started
    were judged on their own night and are left out, except identity changes no earlier night
    reported: those needed tonight's pings to be confirmed.

    ``first_reported`` of an event no earlier night reported is the night it was seen in:
    the UTC day its start falls on, never before the scan window's start (a scan of a file
    that begins in 2014 reports a 2021 event as first reported in 2021, not 2014).
    """
    if events.empty:
        return events
    ev = events.copy()
    day = pd.to_datetime(ev["start_time"], utc=True).dt.floor("D")
    ev["first_night"] = day.where(day > night.start, night.start)
    if len(reported):
        rep = reported.copy()
        rep["start_time"] = pd.to_datetime(rep["start_time"], utc=True)
        # an event still open when reported may have gone on until now
        rep["end_time"] = pd.to_datetime(rep["end_time"], utc=True).fillna(night.end)
        rep["first_night"] = pd.to_datetime(rep["first_night"], utc=True)
        rep["other_key"] = pd.to_numeric(rep["other_mmsi"], errors="coerce").fillna(-1)
        ev["other_key"] = pd.to_numeric(ev["other_mmsi"], errors="coerce").fillna(-1)
        ev = ev.reset_index(drop=True)
        ev["row"] = ev.index
        pairs = ev[["row", "event_id", "event_type", "mmsi", "other_key", "start_time",
                    "end_time"]].merge(
            rep[["event_id", "event_type", "mmsi", "other_key", "start_time", "end_time",
                 "first_night"]], on=["event_type", "mmsi", "other_key"], suffixes=("", "_r"))
        # only events first reported on an earlier night can be continued: tonight's own
        # events (a re-run) keep the ids their data gives them
        pairs = pairs[pairs["first_night"] < night.start]
        slack = pd.Timedelta(minutes=10)
        same = (pairs["event_id"] == pairs["event_id_r"]) | (
            (pairs["end_time_r"] >= pairs["start_time"] - slack)
            & (pairs["start_time_r"] <= pairs["end_time"].fillna(night.end) + slack))
        m = (pairs[same].sort_values(["row", "start_time_r", "event_id_r"])
             .drop_duplicates("row").drop_duplicates("event_id_r").set_index("row"))
        if len(m):
            rows = m.index
            ev.loc[rows, "event_id"] = m["event_id_r"]
            start = ev.loc[rows, "start_time"]
            earlier = start.where(start <= m["start_time_r"], m["start_time_r"])
            ev.loc[rows, "start_time"] = earlier
            # an event that started before the carried pings keeps its whole length
            ev.loc[rows, "duration_h"] += (start - earlier).dt.total_seconds() / 3600
            first = m["first_night"]
            ev.loc[rows, "first_night"] = first.where(first < night.start, night.start)
        ev = ev.drop(columns=["other_key", "row"])
        ev["start_time"] = pd.to_datetime(ev["start_time"], utc=True)
        ev["first_night"] = pd.to_datetime(ev["first_night"], utc=True)
    ev = ev.drop_duplicates("event_id", keep="first")
    # an identity change that lies in the carried pings was confirmed only tonight (the new
    # identity needed tonight's pings to count): new, unless an earlier night reported it
    confirmed = (ev["event_type"] == "identity_change") & (ev["first_night"] >= night.start)
    # ... and so is an event whose evidence was complete only tonight (a dark meetup whose
    # silent vessel reappeared tonight, paired with a wait that ended on an earlier night)
    if "known_at" in ev.columns:
        known = pd.to_datetime(ev["known_at"], utc=True)
        confirmed |= (known >= night.start).fillna(False).astype(bool) & (
            ev["first_night"] >= night.start)
    touching = (ev["end_time"] >= night.start) | ev["is_open"].astype(bool) | confirmed
    ev = ev[touching].copy()
    ev["status"] = np.where(ev["first_night"] >= night.start, "new", "continuing")
    ev["first_reported"] = ev["first_night"]
    return ev.reset_index(drop=True)


def with_earlier(tonight: pd.DataFrame | None, earlier: pd.DataFrame | None
                 ) -> pd.DataFrame | None:
    """Tonight's candidates of one type and the rows of that type earlier nights kept
    (:func:`partners_out`), for a paired detector to pair with.

    A kept row and a candidate of tonight of the same vessel that overlap in time are one
    event seen twice: the longer is kept (tonight's on a tie). Tonight's re-finding of a wait
    from the few hours of pings carried is a part of it, the kept row the whole; a wait still
    going on was carried whole and has grown tonight."""
    if earlier is None or earlier.empty:
        return tonight
    if tonight is None or tonight.empty:
        return earlier.reset_index(drop=True)
    old = earlier[~earlier["event_id"].isin(tonight["event_id"])].reset_index(drop=True)
    new = tonight.reset_index(drop=True)
    pairs = (new[["mmsi", "start_time", "end_time", "duration_h"]].reset_index()
             .merge(old[["mmsi", "start_time", "end_time", "duration_h"]].reset_index(),
                    on="mmsi", suffixes=("", "_old")))
    pairs = pairs[(pairs["start_time"] <= pairs["end_time_old"])
                  & (pairs["start_time_old"] <= pairs["end_time"])]
    longer = pairs["duration_h_old"] > pairs["duration_h"]
    drop_new = pairs.loc[longer, "index"].unique()
    drop_old = pairs.loc[~longer, "index_old"].unique()
    both = [new.drop(index=drop_new), old.drop(index=drop_old)]
    both = [f for f in both if len(f)]
    return pd.concat(both, ignore_index=True) if both else new.iloc[:0]


def partners_out(tonight: dict[str, pd.DataFrame], earlier: dict[str, pd.DataFrame],
                 night: Night, keep_days: float) -> pd.DataFrame:
    """The rows paired detectors keep for tomorrow, one frame with an ``event_type`` column:
    tonight's (each detector's ``partners``) and the earlier nights' that end within
    ``keep_days`` of tonight's end, a row seen again tonight counted once (as in
    :func:`with_earlier`)."""
    frames = []
    for event_type in sorted(set(tonight) | set(earlier)):
        rows = with_earlier(tonight.get(event_type), earlier.get(event_type))
        if rows is None or rows.empty:
            continue
        rows = rows[pd.to_datetime(rows["end_time"], utc=True)
                    >= night.end - pd.Timedelta(days=keep_days)]
        frames.append(rows.assign(event_type=event_type))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(
        ["event_type", "mmsi", "start_time"], kind="stable").reset_index(drop=True)


def identities_of(tracks: pd.DataFrame, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """Each vessel's identities (name, call sign, IMO, ship type): first and last time seen
    and ping counts among the pings at or after ``since``, and the positions in ``tracks`` of
    each identity's first and last ping overall (``first_row``, ``last_row``; the frame is in
    (mmsi, timestamp) order). One hash aggregation in DuckDB."""
    con = connect()
    con.register("p", tracks[["mmsi", "timestamp", "name", "callsign", "imo", "ship_type"]]
                 .assign(row=np.arange(len(tracks))))
    tonight = "TRUE" if since is None else f"timestamp >= '{since.isoformat()}'::TIMESTAMPTZ"
    out = fetch_frame(con, f"""
        SELECT mmsi, name, callsign, imo, CAST(ship_type AS VARCHAR) AS ship_type,
               min(timestamp) FILTER (WHERE {tonight}) AS first_seen,
               max(timestamp) FILTER (WHERE {tonight}) AS last_seen,
               count(*) FILTER (WHERE {tonight}) AS pings,
               arg_min(row, timestamp) AS first_row, arg_max(row, timestamp) AS last_row
        FROM p GROUP BY mmsi, name, callsign, imo, ship_type ORDER BY mmsi, first_seen
    """, non_null_ints=("mmsi", "pings", "first_row", "last_row"))
    con.close()
    return out


#: Pings of one vessel in one event kept in the state: at most 2 * (this + 1).
THIN_BUCKETS = 100
#: Identity columns whose change between two pings keeps both (a rename stays visible).
_IDENTITY = ("name", "callsign", "imo")


#: Flagged events whose pings are selected and thinned together (bounds the peak memory).
EVENTS_PER_CHUNK = 500


def night_out(tracks: pd.DataFrame, candidates: dict[str, pd.DataFrame], night: Night,
              cfg: CarryConfig, flagged: pd.DataFrame | None
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the state keeps of a frame of whole vessels for tomorrow: the identities seen
    tonight (:func:`identities_of` since the night's start, without the row positions) and
    the pings to carry (:func:`carry_out`). Per vessel: run where each part of the tracks is
    held, the parts' answers in MMSI order are the whole's."""
    ids = identities_of(tracks, night.start)
    carried = carry_out(tracks, candidates, night, cfg, ids, flagged=flagged)
    return ids.drop(columns=["first_row", "last_row"]), carried


def kept_event_pings(events: pd.DataFrame, tracks: Any, columns: list[str],
                     per_chunk: int = EVENTS_PER_CHUNK) -> pd.DataFrame:
    """:func:`thin_pings` of :func:`ais.views.triage.event_pings` (``columns`` of ``tracks``),
    ``per_chunk`` events at a time: the same rows as in one go (thinning is per event), but
    the whole windows of only ``per_chunk`` events are held at once, and only the vessels'
    rows in those windows are copied out of ``tracks`` (not a copy of every column of every
    ping). ``tracks``: a frame, or tracks held elsewhere (:mod:`ais.runtime.held`: only the
    rows of each chunk's vessels in its windows are fetched)."""
    from ais.views.triage import DEFAULT_PAD_H, as_events, event_pings

    ev = as_events(events) if len(events) else events
    none = pd.DataFrame({"ev_mmsi": pd.Series(dtype="int64"),
                         "lo": pd.Series(dtype="datetime64[us, UTC]"),
                         "hi": pd.Series(dtype="datetime64[us, UTC]")})
    if ev.empty:
        return thin_pings(event_pings(ev, _around(tracks, none, columns)))
    pad = pd.Timedelta(hours=DEFAULT_PAD_H)
    parts = []
    for at in range(0, len(ev), max(int(per_chunk), 1)):
        chunk = ev.iloc[at:at + per_chunk]
        start = chunk["start_time"]
        wanted = pd.concat([
            pd.DataFrame({"ev_mmsi": chunk[col], "lo": start - pad,
                          "hi": chunk["end_time"].fillna(start) + pad})
            for col in ("mmsi", "other_mmsi")]).dropna(subset=["ev_mmsi"])
        wanted = wanted.astype({"ev_mmsi": "int64"})
        parts.append(thin_pings(event_pings(chunk, _around(tracks, wanted, columns))))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _around(tracks: Any, wanted: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows (``columns``) of each ``wanted`` vessel (``ev_mmsi, lo, hi``) in its span,
    from a frame or from tracks held elsewhere."""
    if isinstance(tracks, pd.DataFrame):
        from ais.runtime.shares import rows_around

        return rows_around(tracks, wanted, columns)
    return tracks.around(wanted, columns)


def kept_partner_pings(rows: pd.DataFrame | None, tracks: Any, columns: list[str]
                       ) -> pd.DataFrame:
    """The pings the state keeps with ``rows`` (rows a paired detector keeps,
    :func:`partners_out`, found tonight; an earlier night's rows keep the pings that night
    stored): each row's vessel in the window a flagged event of the same times has
    (:data:`ais.views.triage.DEFAULT_PAD_H` either side), thinned as :func:`kept_event_pings`
    thins an event's, at most ``2 * (THIN_BUCKETS + 1)`` a row; ``event_id`` is the row's."""
    wanted = (pd.DataFrame(columns=["event_id", "mmsi", "start_time", "end_time"])
              if rows is None else rows[["event_id", "mmsi", "start_time", "end_time"]])
    return kept_event_pings(wanted.assign(other_mmsi=pd.NA), tracks, columns)


def partner_links(events: pd.DataFrame, links: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """For each event of a type in ``links`` (:func:`ais.detectors.partner_columns`) that names
    a kept row it pairs with: ``event_id``, the row's id (``partner_id``), the row's vessel
    (``mmsi``) and the event's map window (``lo``, ``hi``: the event
    ± :data:`ais.views.triage.DEFAULT_PAD_H`, as :func:`kept_event_pings` takes it)."""
    from ais.views.triage import DEFAULT_PAD_H, as_events

    pad = pd.Timedelta(hours=DEFAULT_PAD_H)
    parts = []
    for event_type, (id_col, vessel_col) in links.items():  # a few types, not rows
        if events.empty or id_col not in events.columns or vessel_col not in events.columns:
            continue
        ev = as_events(events[events["event_type"] == event_type])
        if ev.empty:
            continue
        start = ev["start_time"]
        parts.append(pd.DataFrame({
            "event_id": ev["event_id"].to_numpy(), "partner_id": ev[id_col].to_numpy(),
            "mmsi": ev[vessel_col].to_numpy(), "lo": start - pad,
            "hi": ev["end_time"].fillna(start) + pad}).dropna(subset=["partner_id", "mmsi"]))
    if not parts:
        return pd.DataFrame({"event_id": pd.Series(dtype=str),
                             "partner_id": pd.Series(dtype=str),
                             "mmsi": pd.Series(dtype="int64"),
                             "lo": pd.Series(dtype="datetime64[us, UTC]"),
                             "hi": pd.Series(dtype="datetime64[us, UTC]")})
    return pd.concat(parts, ignore_index=True).astype({"mmsi": "int64"})


def with_partner_pings(pings: pd.DataFrame, links: pd.DataFrame, stored: pd.DataFrame
                       ) -> pd.DataFrame:
    """``pings`` (:func:`kept_event_pings`) and, for each event paired with a kept row
    (``links``: :func:`partner_links`), the pings the state kept with that row (``stored``,
    :func:`kept_partner_pings`, ``event_id`` the row's) of the row's vessel within the event's
    window, as the event's: a dark meetup paired with a wait of an earlier night shows the
    wait, though tonight's pings hold only the end of it, if anything.

    A ping both hold is kept once; each (event, vessel) that gained pings is thinned again
    (:func:`thin_pings`), so it keeps at most ``2 * (THIN_BUCKETS + 1)``. Text columns come
    out as plain text (the state stores them so). Merges, no loop over pings."""
    if stored.empty or links.empty:
        return pings
    got = (stored.rename(columns={"event_id": "partner_id"})
           .astype({"mmsi": "int64"}).merge(links, on=["partner_id", "mmsi"]))
    t = pd.to_datetime(got["timestamp"], utc=True)
    got = got[(t >= got["lo"]) & (t <= got["hi"])]
    if got.empty:
        return pings
    columns = list(pings.columns) if len(pings.columns) else list(stored.columns)
    got = got[[c for c in columns if c in got.columns]]
    keys = pd.MultiIndex.from_frame(got[["event_id", "mmsi"]].drop_duplicates())
    touched = (pd.MultiIndex.from_arrays([pings["event_id"], pings["mmsi"].astype("int64")])
               .isin(keys) if len(pings) else np.zeros(0, dtype=bool))
    both = pd.concat([plain_text(pings[touched]), plain_text(got)], ignore_index=True)
    both["timestamp"] = pd.to_datetime(both["timestamp"], utc=True)
    both = (both.sort_values(["event_id", "mmsi", "timestamp"], kind="stable")
            .drop_duplicates(["event_id", "mmsi", "timestamp"]))
    parts = [plain_text(pings[~touched]), thin_pings(both)]
    return pd.concat([p for p in parts if len(p)], ignore_index=True)[columns]


def thin_pings(pings: pd.DataFrame, every_s: int = 60, buckets: int = THIN_BUCKETS
               ) -> pd.DataFrame:
    """What the state keeps of each flagged event's pings for maps and exports.

    Per event and vessel, the time from its first to its last ping is cut into ``buckets``
    equal buckets (none shorter than ``every_s``) and the first and the last ping of each
    bucket are kept: at most ``2 * (buckets + 1)`` pings per vessel and event, spread evenly
    in time, always the first and the last, and both ends of every gap longer than a bucket
    (a 24-hour window has 15-minute buckets). The pings either side of a change of name,
    call sign or IMO are kept too, so an identity change stays on the map.
    """
    if pings.empty:
        return pings
    frame = pings
    event = pd.factorize(frame["event_id"])[0]
    mmsi = frame["mmsi"].to_numpy()
    t = epoch_ns(frame["timestamp"])
    if len(t) > 1 and not _grouped_in_time(event, mmsi, t):
        frame = frame.sort_values(["event_id", "mmsi", "timestamp"], kind="stable")
        event = pd.factorize(frame["event_id"])[0]
        mmsi = frame["mmsi"].to_numpy()
        t = epoch_ns(frame["timestamp"])
    new = np.r_[True, (event[1:] != event[:-1]) | (mmsi[1:] != mmsi[:-1])]
    starts = np.flatnonzero(new)
    counts = np.diff(np.r_[starts, len(t)])
    t0 = np.repeat(t[starts], counts)
    span = np.repeat(t[starts + counts - 1], counts) - t0
    width = np.maximum(-(-span // max(int(buckets), 1)), every_s * 1_000_000_000)
    bucket = (t - t0) // width
    same = ~new[1:] & (bucket[1:] == bucket[:-1])
    for col in _IDENTITY:
        if col in frame.columns:
            values = pd.factorize(frame[col])[0]
            same &= values[1:] == values[:-1]
    first = np.r_[True, ~same]
    last = np.r_[~same, True]
    return frame[first | last].reset_index(drop=True)


def _grouped_in_time(event: np.ndarray, mmsi: np.ndarray, t: np.ndarray) -> bool:
    """Whether rows come grouped by (event, vessel) and in time order within each group
    (as :func:`ais.views.triage.event_pings` returns them)."""
    new = np.r_[True, (event[1:] != event[:-1]) | (mmsi[1:] != mmsi[:-1])]
    keys = event[new] * (int(mmsi.max()) + 1 if len(mmsi) else 1) + mmsi[new]
    return len(np.unique(keys)) == len(keys) and bool(((np.diff(t) >= 0) | new[1:]).all())
