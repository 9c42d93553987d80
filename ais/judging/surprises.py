"""Warnings and notes that keep a scan from going quietly wrong.

Under cron nobody reads a CSV that is empty for the wrong reason: a feed of another region
(no ping inside any watch area) gives "flagged 0 events" night after night, and scores from
the shipped models, fitted on a synthetic week, read like scores from real traffic. These
functions say so in words; the scan puts them in its summary and its log.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ais.config import Config
from ais.geography.geo import watch_area
from ais.geography.land import near_areas

#: How the watch-area warning begins (the by-day scan merges the days' ones by it).
OUTSIDE_AREAS = "warning: none of the "
#: Pings checked at a time for one inside a watch area (the check stops at the first).
_CHUNK = 1_000_000
WARNING = "warning: "


def pings_in_watch_areas(pings: pd.DataFrame, cfg: Config) -> bool:
    """True when at least one ping lies inside a watch area (a bounding-box test first,
    the exact one on the points inside a box, a chunk at a time until one is found)."""
    if pings.empty or not cfg.areas:
        return False
    lat = pings["lat"].to_numpy(dtype=float)
    lon = pings["lon"].to_numpy(dtype=float)
    near = np.flatnonzero(near_areas(lat, lon, cfg.areas))
    for start in range(0, len(near), _CHUNK):
        idx = near[start:start + _CHUNK]
        if (watch_area(lat[idx], lon[idx], cfg.areas) != "").any():
            return True
    return False


def _deg(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.2f}°{positive if value >= 0 else negative}"


def watch_area_warning(pings: pd.DataFrame, cfg: Config) -> str | None:
    """The warning for a scan whose pings all lie outside the watch areas (None when some
    ping is inside one, when events are reported everywhere, or when there are no pings)."""
    return area_warning([area_facts(pings, cfg)], cfg)


class AreaFacts(NamedTuple):
    """What :func:`area_warning` needs of some pings (a worker's share of a scan)."""

    pings: int
    inside: bool  # one lies in a watch area
    south: float
    north: float
    west: float
    east: float


def area_facts(pings: pd.DataFrame, cfg: Config) -> AreaFacts:
    """The :class:`AreaFacts` of ``pings``."""
    if cfg.everywhere or pings.empty:
        return AreaFacts(len(pings), False, np.nan, np.nan, np.nan, np.nan)
    lat = pings["lat"].to_numpy(dtype=float)
    lon = pings["lon"].to_numpy(dtype=float)
    return AreaFacts(len(pings), pings_in_watch_areas(pings, cfg), float(np.nanmin(lat)),
                     float(np.nanmax(lat)), float(np.nanmin(lon)), float(np.nanmax(lon)))


def area_warning(facts: list[AreaFacts], cfg: Config) -> str | None:
    """:func:`watch_area_warning` from the :func:`area_facts` of the parts of a scan."""
    n = sum(f.pings for f in facts)
    if cfg.everywhere or n == 0 or any(f.inside for f in facts):
        return None
    names = ", ".join(a.name for a in cfg.areas) or "none configured"
    full = [f for f in facts if f.pings]
    south, north = min(f.south for f in full), max(f.north for f in full)
    west, east = min(f.west for f in full), max(f.east for f in full)
    box = (f"{_deg(south, 'N', 'S')} to {_deg(north, 'N', 'S')}, "
           f"{_deg(west, 'E', 'W')} to {_deg(east, 'E', 'W')}")
    return (f"{WARNING}none of the {n:,} pings lies in a watch area ({names}); the "
            f"input covers {box}. No event can be flagged: check that the feed is the "
            "right region, set the areas with --config, or pass --everywhere to report "
            "events anywhere")


def synthetic_baseline_note(meta: dict) -> str | None:
    """A note when the models' metadata says they were fitted on a synthetic baseline."""
    baseline = str(meta.get("baseline") or "")
    if not baseline.lower().startswith("synthetic"):
        return None
    return ("note: the models were fitted on a synthetic baseline, not on real traffic of "
            f"your area (models' metadata: baseline {baseline}): a score says how unusual an "
            "event is against simulated ships. Train on a real baseline window with "
            "`ais train PATHS --models DIR` and scan with --models DIR")


def is_synthetic_file(file: str | Path) -> bool:
    """A scenario ``ais synth`` wrote: ``NAME.parquet`` with its ``NAME.truth.csv`` beside
    it (the truth table of the events it injected)."""
    path = Path(file)
    return path.with_name(path.name.split(".", 1)[0] + ".truth.csv").is_file()


def baseline_kind(files: list[str]) -> str:
    """What a training window is made of, for the models' metadata: ``synthetic (ais
    synth)`` when every file is a synthetic scenario (see :func:`is_synthetic_file`),
    ``real`` when none is, ``mixed`` otherwise."""
    marks = [is_synthetic_file(f) for f in files]
    if marks and all(marks):
        return "synthetic (ais synth)"
    return "mixed: synthetic and real files" if any(marks) else "real"
