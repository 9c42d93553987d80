"""The one events schema every detector returns, stable event ids, and place annotation."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ais.config import Config
from ais.geography.geo import watch_area
from ais.geography.ports import nearest_port

EVENT_TYPES = ("loitering", "dark_period", "meetup", "identity_change", "port_call",
               "dark_meetup")

#: Columns every detector returns, before its own feature columns.
BASE_COLUMNS: dict[str, str] = {
    "event_type": "str",
    "mmsi": "int64",
    "other_mmsi": "Int64",
    "track": "int32",
    "start_time": "datetime64[us, UTC]",
    "end_time": "datetime64[us, UTC]",
    "duration_h": "float64",
    "lat": "float64",
    "lon": "float64",
    "is_open": "bool",
    "passes_rule": "bool",
    "context": "str",
}

def empty_events(features: tuple[str, ...] = ()) -> pd.DataFrame:
    """A zero-row frame with the base columns (and the given float feature columns)."""
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in BASE_COLUMNS.items()})
    for f in features:
        frame[f] = pd.Series(dtype="float64")
    return frame


def conform(frame: pd.DataFrame, event_type: str, features: tuple[str, ...]) -> pd.DataFrame:
    """Give a detector's output the base columns in order and the declared dtypes."""
    if frame.empty:
        return empty_events(features).assign(event_type=pd.Series(dtype="str"))
    out = frame.copy()
    out["event_type"] = event_type
    for col, dtype in BASE_COLUMNS.items():
        if col not in out.columns:
            out[col] = {"other_mmsi": pd.NA, "is_open": False, "context": ""}.get(col, np.nan)
        if dtype.startswith("datetime"):
            out[col] = pd.to_datetime(out[col], utc=True)
        else:
            out[col] = out[col].astype(dtype)
    rest = [c for c in out.columns if c not in BASE_COLUMNS]
    return out[list(BASE_COLUMNS) + rest].reset_index(drop=True)


def event_ids(events: pd.DataFrame) -> pd.Series:
    """Deterministic ids from type, vessel(s) and start time: the same data gives the same id.

    The end is not part of the id, so an event that grows (a gap still open, a meeting that
    goes on tomorrow) keeps its id.
    """
    from ais.detectors import REGISTRY  # the detectors build on this module

    prefix = {t: d.ID_PREFIX for t, d in REGISTRY.items()}
    starts = pd.to_datetime(events["start_time"], utc=True).dt.strftime("%Y%m%dT%H%M%S")
    other = pd.to_numeric(events["other_mmsi"], errors="coerce")
    ids = []
    for t, m, o, st in zip(events["event_type"], events["mmsi"], other, starts, strict=True):
        key = f"{t}|{int(m)}|{'' if pd.isna(o) else int(o)}|{'' if pd.isna(st) else st}"
        ids.append(f"{prefix.get(t, 'EVT')}-{hashlib.sha1(key.encode()).hexdigest()[:12]}")
    return pd.Series(ids, index=events.index, dtype="str")


def annotate_places(events: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Add ``event_id``, ``area``, ``nearest_port``, ``distance_to_port_km`` and drop events
    outside every watch area unless ``cfg.everywhere``."""
    out = events.copy()
    if out.empty:
        for col, dtype in (("event_id", "str"), ("area", "str"), ("nearest_port", "str"),
                           ("distance_to_port_km", "float64")):
            out[col] = pd.Series(dtype=dtype)
        return out
    lat, lon = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
    out["event_id"] = event_ids(out)
    out["area"] = watch_area(lat, lon, cfg.areas)
    name, dist, _ = nearest_port(lat, lon, cfg)
    out["nearest_port"] = name
    out["distance_to_port_km"] = np.where(np.isfinite(dist), dist, np.nan)
    if not cfg.everywhere:
        out = out[out["area"] != ""]
    return out.reset_index(drop=True)
