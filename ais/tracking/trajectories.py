"""Turn track or segment rows into movingpandas trajectories for exports, maps and checks.

Only flagged tracks go through movingpandas (it is slow per ping); detection is vectorised.
movingpandas drops time zones, so timestamps are handed over as naive UTC.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd

with warnings.catch_warnings():  # its optional smoother (Stone Soup) is not one we use
    warnings.filterwarnings("ignore", "Missing optional dependencies", UserWarning)
    import movingpandas as mpd


def segment_ids(tracks: pd.DataFrame) -> pd.Series:
    """``"{mmsi}_{track}_{segment}"`` per row: the movingpandas child-id convention."""
    return (tracks["mmsi"].astype(str) + "_" + tracks["track"].astype(str) + "_"
            + tracks["segment"].astype(str))


def track_ids(tracks: pd.DataFrame) -> pd.Series:
    """``"{mmsi}_{track}"`` per row."""
    return tracks["mmsi"].astype(str) + "_" + tracks["track"].astype(str)


def to_trajectory_collection(
    tracks: pd.DataFrame, *, by: str = "segment", min_pings: int = 2
) -> mpd.TrajectoryCollection:
    """Build a ``TrajectoryCollection`` with one trajectory per segment (or per track).

    Args:
        tracks: output of :func:`ais.tracking.tracks.build_tracks` (any subset of its rows).
        by: ``"segment"`` or ``"track"``.
        min_pings: trajectories with fewer pings are left out (movingpandas needs 2).
    """
    if by not in ("segment", "track"):
        raise ValueError(f"by must be 'segment' or 'track', not {by!r}")
    ids = segment_ids(tracks) if by == "segment" else track_ids(tracks)
    frame = tracks.assign(traj_id=ids.to_numpy())
    frame = frame[frame.groupby("traj_id")["traj_id"].transform("size") >= min_pings]
    frame = frame.assign(t=frame["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None))
    gdf = gpd.GeoDataFrame(
        frame.drop(columns=["timestamp"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    ).set_index("t")
    return mpd.TrajectoryCollection(gdf, traj_id_col="traj_id")
