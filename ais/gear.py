"""Fishing gear and buoys: transmitters that report positions but are not vessels.

Chinese and Korean fleets put class-B AIS transponders on their nets and long-line buoys. They
drift slowly for days (a "loitering" candidate), sit beside their vessel (a "meetup"), and
their names carry a battery level that changes with every report ('IOAN JAYA-B-89%' ->
'-88%': an "identity change"). None of that is a vessel's behaviour, so their MMSIs are set
aside before events are reported, and the scan says how many.

A transmitter is gear when any of these hold (:func:`find`):

- ``name``: one of its names carries a battery level ('-89%', '284%', '12.5V') or a gear word
  (BUOY, NET, NETMARK, FLOAT, GEAR, MARKER, or BIAO, pinyin for "marker");
- ``mmsi_form``: its MMSI has an ITU form for craft that are not vessels and that gear
  transmitters use (``98MIDxxxx``, ``979xxxxxx``, ``8MIDxxxxx``; :func:`ais.mmsi.gear_form`);
- ``tiny``: it reports hull dimensions of at most ``TINY_LENGTH_M`` by ``TINY_WIDTH_M`` and
  never moves faster than ``GEAR_MAX_KN`` (a buoy's drift, not a boat).

The work is one pass over the distinct (MMSI, name) pairs and one grouped aggregate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.mmsi import gear_form

BATTERY = r"(?:\d{1,3}\s*%|\b\d{1,2}(?:\.\d)?\s*V\b)"
GEAR_WORDS = r"\b(?:BUOY|BUOYS|NET|NETS|NETMARK|FLOAT|GEAR|MARKER|BIAO)\b"
TINY_LENGTH_M = 3.0
TINY_WIDTH_M = 2.0
GEAR_MAX_KN = 4.0

REASONS = {"name": "battery level or gear word in the name", "mmsi_form":
           "ITU gear MMSI form (98MID, 979, 8MID)", "tiny": "tiny hull that never moves "
           f"faster than {GEAR_MAX_KN:.0f} kn"}


def find(tracks: pd.DataFrame) -> pd.DataFrame:
    """The gear MMSIs in ``tracks`` with why: columns ``mmsi`` and ``why`` (a key of
    :data:`REASONS`, the first that applies)."""
    if tracks.empty:
        return pd.DataFrame({"mmsi": pd.Series(dtype="int64"), "why": pd.Series(dtype=str)})
    names = tracks[["mmsi", "name"]].dropna().drop_duplicates()
    text = names["name"].astype(str).str.upper()
    by_name = set(names.loc[(text.str.contains(BATTERY, regex=True)
                             | text.str.contains(GEAR_WORDS, regex=True)).to_numpy(),
                            "mmsi"].tolist())
    mmsis = pd.Series(tracks["mmsi"].unique())
    by_form = set(mmsis[gear_form(mmsis).to_numpy()].tolist())
    by_size: set = set()
    if {"length", "width", "sog"} <= set(tracks.columns):
        sized = tracks[["mmsi", "length", "width", "sog"]]
        agg = sized.groupby("mmsi").agg(length=("length", "max"), width=("width", "max"),
                                        sog=("sog", "max"))
        tiny = ((agg["length"] > 0) & (agg["length"] <= TINY_LENGTH_M)
                & (agg["width"].fillna(0) <= TINY_WIDTH_M) & (agg["sog"].fillna(0)
                                                               <= GEAR_MAX_KN))
        by_size = set(agg.index[tiny.to_numpy()].tolist())
    rows = [(m, why) for why, found in (("name", by_name), ("mmsi_form", by_form),
                                        ("tiny", by_size)) for m in sorted(found)]
    out = pd.DataFrame(rows, columns=["mmsi", "why"]).drop_duplicates("mmsi")
    return out.astype({"mmsi": "int64"}).reset_index(drop=True)


def set_aside(events: pd.DataFrame, gear: pd.DataFrame) -> pd.DataFrame:
    """``events`` without those of gear: neither the vessel nor the partner is gear."""
    if events.empty or gear.empty:
        return events
    g = gear["mmsi"].to_numpy()
    hit = np.isin(events["mmsi"].to_numpy(), g)
    if "other_mmsi" in events.columns:
        other = pd.to_numeric(events["other_mmsi"], errors="coerce").fillna(-1)
        hit |= np.isin(other.to_numpy().astype("int64"), g)
    return events[~hit].reset_index(drop=True)


def note(gear: pd.DataFrame | None) -> list[str]:
    """The scan summary's line on gear set aside."""
    if gear is None or gear.empty:
        return []
    counts = gear["why"].value_counts()
    why = ", ".join(f"{REASONS[k]}: {int(counts[k])}" for k in REASONS if k in counts)
    return [f"set aside {len(gear)} fishing-gear/buoy MMSI(s) ({why}): no loitering, meetups, "
            "dark periods or identity changes are reported for them"]
