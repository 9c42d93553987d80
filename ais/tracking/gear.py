"""Fishing gear and buoys: transmitters that report positions but are not vessels.

Chinese and Korean fleets put class-B AIS transponders on their nets and long-line buoys. They
drift slowly for days (a "loitering" candidate), sit beside their vessel (a "meetup"), and
their names carry a battery level that changes with every report ('IOAN JAYA-B-89%' ->
'-88%': an "identity change"). None of that is a vessel's behaviour, so their MMSIs are set
aside before events are reported, and the scan says how many.

A transmitter is gear when one of its names carries a battery level ('-89%', '284%',
'12.5V': no vessel's name does), or, when it declares no vessel type (no AIS ship type, or
one of the "other"/reserved types; a yacht called 'FLOAT ON' or 'NO BUOYS' declares one),
when any of these hold (:func:`find`):

- ``name``: a gear word in a name (BUOY, NET, NETMARK, FLOAT, GEAR, MARKER, or BIAO, pinyin
  for "marker");
- ``mmsi_form``: its MMSI has an ITU form for craft that are not vessels and that gear
  transmitters use (``98MIDxxxx``, ``979xxxxxx``, ``8MIDxxxxx``; :func:`ais.inputs.mmsi.gear_form`),
  and no hull longer than ``TENDER_LENGTH_M``;
- ``tiny``: it reports hull dimensions of at most ``TINY_LENGTH_M`` by ``TINY_WIDTH_M`` and
  never moves faster than ``GEAR_MAX_KN`` (a buoy's drift, not a boat).

On MarineCadastre's US sample (10,662 tracks) the declared-type condition is what keeps
pleasure craft named 'FLOAT ON', fishing boats with a mistyped 1 m length and cruise-ship
tenders on ``98MID`` numbers out of the gear.

The work is one regular expression per distinct name and a few numpy passes over the pings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.inputs.mmsi import gear_form

BATTERY = r"(?:\d{1,3}\s*%|\b\d{1,2}(?:\.\d)?\s*V\b)"
GEAR_WORDS = r"\b(?:BUOY|BUOYS|NET|NETS|NETMARK|FLOAT|GEAR|MARKER|BIAO)\b"
TINY_LENGTH_M = 3.0
TENDER_LENGTH_M = 12.0
TINY_WIDTH_M = 2.0
GEAR_MAX_KN = 4.0

REASONS = {"battery": "battery level in the name",
           "name": "gear word in the name, no vessel type", "mmsi_form":
           "ITU gear MMSI form (98MID, 979, 8MID), no vessel type",
           "tiny": f"tiny hull that never moves faster than {GEAR_MAX_KN:.0f} kn, no vessel "
                   "type"}


def find(tracks: pd.DataFrame) -> pd.DataFrame:
    """The gear MMSIs in ``tracks`` with why: columns ``mmsi`` and ``why`` (a key of
    :data:`REASONS`, the first that applies).

    Vectorised: the name patterns are tested once per distinct name (the column's
    categories), the pings only gathered by code; the hull test looks only at the MMSIs that
    report a tiny length.
    """
    empty = pd.DataFrame({"mmsi": pd.Series(dtype="int64"), "why": pd.Series(dtype=str)})
    if tracks.empty:
        return empty
    mmsi = tracks["mmsi"].to_numpy()
    by_battery = mmsi[_matches(tracks["name"], BATTERY)]

    def untyped(cand: np.ndarray) -> np.ndarray:  # those that declare no vessel type
        cand = pd.unique(cand)
        if not len(cand):
            return cand
        rows = np.isin(mmsi, cand)
        typed = mmsi[rows][_declared_vessel(tracks[rows])]
        return np.setdiff1d(cand, typed)

    by_name = untyped(mmsi[_matches(tracks["name"], GEAR_WORDS)])
    vessels = pd.Series(pd.unique(mmsi))
    by_form = untyped(vessels[gear_form(vessels).to_numpy()].to_numpy())
    if "length" in tracks.columns and len(by_form):
        length = tracks["length"].to_numpy(dtype=float)
        by_form = np.setdiff1d(by_form, mmsi[length > TENDER_LENGTH_M])
    by_size = np.array([], dtype=np.int64)
    if {"length", "width", "sog"} <= set(tracks.columns):
        length = tracks["length"].to_numpy(dtype=float)
        small = (length > 0) & (length <= TINY_LENGTH_M)
        if small.any():
            width = tracks["width"].to_numpy(dtype=float)
            cand = untyped(mmsi[small & ~(width > TINY_WIDTH_M)])
            rows = np.isin(mmsi, cand)
            sub = pd.DataFrame({"mmsi": mmsi[rows], "length": length[rows],
                                "width": width[rows],
                                "sog": tracks["sog"].to_numpy(dtype=float)[rows]})
            agg = sub.groupby("mmsi").max()
            tiny = ((agg["length"] <= TINY_LENGTH_M) & ~(agg["width"] > TINY_WIDTH_M)
                    & ~(agg["sog"] > GEAR_MAX_KN))
            by_size = agg.index[tiny.to_numpy()].to_numpy()
    parts = [pd.DataFrame({"mmsi": np.unique(found).astype(np.int64), "why": why})
             for why, found in (("battery", by_battery), ("name", by_name),
                                ("mmsi_form", by_form), ("tiny", by_size))
             if len(found)]
    if not parts:
        return empty
    return pd.concat(parts, ignore_index=True).drop_duplicates("mmsi").reset_index(drop=True)


def _matches(names: pd.Series, pattern: str) -> np.ndarray:
    """Per ping: its name matches ``pattern`` (tested once per distinct name)."""
    if isinstance(names.dtype, pd.CategoricalDtype):
        text = pd.Series(names.cat.categories.astype(str)).str.upper()
        hit = np.r_[text.str.contains(pattern, regex=True).to_numpy(dtype=bool), False]
        return hit[names.cat.codes.to_numpy()]  # code -1 (no name) takes the last: False
    text = names.astype("string").str.upper()
    return text.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)


def _declared_vessel(tracks: pd.DataFrame) -> np.ndarray:
    """Per ping: it declares a vessel type: an AIS ship type 20-89 (wing in ground, fishing,
    towing, pleasure, high speed, pilot, passenger, cargo, tanker, ...), or a type given as
    text ('pleasure', 'trawler') other than 'unknown' / 'not available'."""
    if "ship_type" not in tracks.columns:
        return np.zeros(len(tracks), dtype=bool)
    st = tracks["ship_type"]
    cats = st.cat.categories if isinstance(st.dtype, pd.CategoricalDtype) else None
    text = pd.Series(cats.astype(str) if cats is not None else st.astype("string"))
    number = pd.to_numeric(text, errors="coerce")
    lowered = text.str.strip().str.lower()
    vessel = np.where(number.notna(), (number >= 20) & (number <= 89),
                      lowered.notna() & ~lowered.isin(["", "unknown", "not available", "none",
                                                       "nan", "other", "0"]))
    vessel = np.asarray(pd.Series(vessel).fillna(False), dtype=bool)
    if cats is None:
        return vessel
    return np.r_[vessel, False][st.cat.codes.to_numpy()]


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
