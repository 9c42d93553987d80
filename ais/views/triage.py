"""Inputs of the analyst views (story, map, export, report): flagged events and their pings.

Events come either straight from a scan (times are UTC timestamps) or read back from the
flagged CSV (times are ISO strings, an open end is empty); :func:`as_events` turns both into
one shape. Pings are rows of :func:`ais.tracking.tracks.build_tracks` around the events, with an
``event_id`` column saying which event each ping belongs to (a ping appears once per event);
:func:`event_pings` selects them from a track frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.config import TrackConfig
from ais.db import connect, fetch_frame
from ais.tracking.tracks import epoch_us, is_sorted

#: Pings this long before an event's start and after its end belong to its window.
DEFAULT_PAD_H = 6.0

_TIMES = ("start_time", "end_time")
_INTS = ("mmsi", "other_mmsi", "imo", "other_imo")
_FLOATS = ("duration_h", "lat", "lon", "distance_to_port_km", "anomaly_score")


def is_missing(value: object) -> bool:
    """None, NaN, NA or NaT (a list or other non-scalar is not missing)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_events(events: pd.DataFrame) -> pd.DataFrame:
    """A copy with UTC timestamps (NaT for an open end), nullable integer MMSIs and IMOs and
    float numbers, whether ``events`` came from a scan or from the CSV."""
    out = events.copy()
    for col in _TIMES:
        if col in out.columns:
            values = out[col]
            if not pd.api.types.is_datetime64_any_dtype(values):
                values = values.astype("string").replace("", pd.NA)
            out[col] = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    for col in _INTS:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for col in _FLOATS:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


def as_event(event: pd.Series) -> pd.Series:
    """One event (a row of the scan's frame or of the CSV) normalised like :func:`as_events`."""
    return as_events(event.to_frame().T.reset_index(drop=True)).iloc[0]


def as_pings(pings: pd.DataFrame, gap_h: float = TrackConfig.gap_h) -> pd.DataFrame:
    """A copy sorted by vessel and time with UTC timestamps and ``track``/``segment``.

    Pings that lack ``track`` get track 0; pings that lack ``segment`` are split where a
    vessel was silent for more than ``gap_h`` (the track builder's rule).
    """
    out = pings.copy()
    if out.empty:  # e.g. a state without stored tracks: no rows, maybe no columns either
        for col, dtype in (("mmsi", "int64"), ("timestamp", "datetime64[us, UTC]"),
                           ("lat", "float64"), ("lon", "float64"), ("track", "int64"),
                           ("segment", "int64")):
            if col not in out.columns:
                out[col] = pd.Series(dtype=dtype)
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True, format="ISO8601")
    if "track" not in out.columns:
        out["track"] = 0
    out = out.sort_values(["mmsi", "track", "timestamp"], kind="stable").reset_index(drop=True)
    if "segment" not in out.columns:
        dt_h = out.groupby(["mmsi", "track"])["timestamp"].diff().dt.total_seconds() / 3600
        out["segment"] = (dt_h > gap_h).astype(int).groupby(
            [out["mmsi"], out["track"]]).cumsum()
    return out


def pings_for(pings: pd.DataFrame, event_id: str) -> pd.DataFrame:
    """The pings of one event (all of them when the frame has no ``event_id`` column)."""
    if "event_id" not in pings.columns:
        return pings
    return pings[pings["event_id"] == event_id]


def vessels_of(event: pd.Series) -> list[int]:
    """The event's MMSIs: the vessel, then the partner or previous MMSI when there is one."""
    out = [int(event["mmsi"])]
    other = event.get("other_mmsi")
    if other is not None and pd.notna(other) and int(other) not in out:
        out.append(int(other))
    return out


def window(event: pd.Series, pad_h: float = DEFAULT_PAD_H) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The time window shown around an event; an open event's window runs ``pad_h`` past
    its start (there is nothing after it to show)."""
    start = event["start_time"]
    end = event["end_time"] if pd.notna(event.get("end_time")) else start
    pad = pd.Timedelta(hours=pad_h)
    return start - pad, end + pad


def _rows_around(tracks: pd.DataFrame, wanted: pd.DataFrame) -> np.ndarray | None:
    """Rows of each ``wanted`` vessel from its earliest window start to its latest window end,
    found by binary search when ``tracks`` is in (mmsi, timestamp) order (as build_tracks
    leaves it; a loop over vessels, not pings); None when it is not."""
    if not is_sorted(tracks):
        return None
    mmsi = tracks["mmsi"].to_numpy()
    t = epoch_us(tracks["timestamp"])
    span = wanted.groupby("ev_mmsi").agg(lo=("lo", "min"), hi=("hi", "max"))
    starts = np.searchsorted(mmsi, span.index.to_numpy(), side="left")
    ends = np.searchsorted(mmsi, span.index.to_numpy(), side="right")
    parts = []
    for a, b, lo, hi in zip(starts, ends, epoch_us(span["lo"]), epoch_us(span["hi"]),
                            strict=True):
        first = a + np.searchsorted(t[a:b], lo, side="left")
        parts.append(np.arange(first, a + np.searchsorted(t[a:b], hi, side="right")))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def event_pings(events: pd.DataFrame, tracks: pd.DataFrame, pad_h: float = DEFAULT_PAD_H
                ) -> pd.DataFrame:
    """The pings of each event's vessel(s) within its :func:`window`, tagged with
    ``event_id`` (a ping appears once per event it belongs to); one join in DuckDB."""
    ev = as_events(events)
    if ev.empty or tracks.empty:
        return tracks.iloc[:0].assign(event_id=pd.Series(dtype="str"))
    pad = pd.Timedelta(hours=pad_h)
    start = ev["start_time"]
    wanted = pd.concat([
        pd.DataFrame({"event_id": ev["event_id"], "ev_mmsi": ev[col], "lo": start - pad,
                      "hi": ev["end_time"].fillna(start) + pad})
        for col in ("mmsi", "other_mmsi")]).dropna(subset=["ev_mmsi"])
    wanted = wanted.astype({"ev_mmsi": "int64"}).drop_duplicates(["event_id", "ev_mmsi"])
    cols = ", ".join(f't."{c}"' for c in tracks.columns if c != "event_id")
    rows = _rows_around(tracks, wanted)
    mine = (tracks.iloc[rows] if rows is not None
            else tracks[np.isin(tracks["mmsi"].to_numpy(), wanted["ev_mmsi"].to_numpy())])
    con = connect()
    con.register("t", mine)
    con.register("w", wanted)
    out = fetch_frame(con, f"""
        SELECT w.event_id, {cols} FROM w JOIN t
          ON t.mmsi = w.ev_mmsi AND t.timestamp >= w.lo AND t.timestamp <= w.hi
        ORDER BY w.event_id, t.mmsi, t.timestamp
    """, non_null_ints=("mmsi",))
    con.close()
    return out[[*(c for c in tracks.columns if c != "event_id"), "event_id"]]
