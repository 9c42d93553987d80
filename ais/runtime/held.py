"""Where a scan's tracks are held, and its questions to them asked where they are.

After the detector stage a scan still asks the tracks things: the anchorages to learn, the
data window, the hull groups and places of the partitions, the halos, the paired types'
vessels, the identities of flagged vessels, what the state carries and keeps. In one
process the tracks are one frame here (:class:`Here`); on a Dask cluster whose workers read
their own shares they stay on the workers, as frames of disjoint vessels each in MMSI order
(:class:`ais.runtime.cluster.OnWorkers`), and the client gets answers, not pings.

Both hold the same three questions:

* ``map(fn, *args)``: ``fn(frame, *args)`` of each frame, a list (one item here). ``fn``
  must be a per-vessel function of its frame, so that the answers put together
  (:func:`ais.runtime.shares.by_vessel`, or a sum, a union) are the whole's;
* ``of_vessels(mmsis, columns)``: every row of those vessels (here: the whole frame, which
  answers every per-vessel question the same way);
* ``around(wanted, columns)``: the rows of each wanted vessel (``ev_mmsi, lo, hi``) in its
  span of time (the pings of flagged events, for the state).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ais.runtime import shares as sh


class Here:
    """The tracks as one frame in this process."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    @property
    def categories(self) -> dict[str, pd.Index]:
        return sh.categories_of([self.frame])

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        return [fn(self.frame, *args)]

    def of_vessels(self, mmsis: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
        return self.frame

    def around(self, wanted: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        return sh.rows_around(self.frame, wanted, columns)


def mmsis_of(tracks: pd.DataFrame) -> np.ndarray:
    """The distinct MMSIs of a frame, ascending."""
    return np.unique(tracks["mmsi"].to_numpy(np.int64))


def n_tracks(tracks: pd.DataFrame) -> int:
    """How many (vessel, track) pairs a frame holds."""
    return int(tracks[["mmsi", "track"]].drop_duplicates().shape[0])


def all_mmsis(held: Any) -> np.ndarray:
    """Every MMSI of the held tracks, ascending."""
    parts = held.map(mmsis_of)
    return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))


def count_tracks(held: Any) -> int:
    """How many (vessel, track) pairs the held tracks hold (the parts' vessels are
    disjoint)."""
    return int(sum(held.map(n_tracks)))
