"""Tracks: one MMSI broadcast by two ships becomes two tracks; gaps split segments."""

from __future__ import annotations

from datetime import timedelta

import movingpandas as mpd
import numpy as np
import pandas as pd
import pytest

from ais.config import TrackConfig
from ais.inputs.ingest import ingest
from ais.tracking.tracks import build_tracks, track_summary
from ais.tracking.trajectories import to_trajectory_collection

from .conftest import GFW, need

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def straight(mmsi: int, start: pd.Timestamp, n: int, lat: float, lon: float,
             every_min: float = 5, dlat: float = 0.005) -> pd.DataFrame:
    """A ship steaming north at about 3.6 kn (0.005 deg every 5 min)."""
    return pd.DataFrame({
        "mmsi": mmsi,
        "timestamp": start + pd.to_timedelta(np.arange(n) * every_min, unit="min"),
        "lat": lat + np.arange(n) * dlat,
        "lon": np.full(n, lon),
    })


def test_two_ships_on_one_mmsi_become_two_tracks_without_fake_gaps():
    atlantic = straight(412331088, T0, 60, -45.5, -60.5)
    yellow_sea = straight(412331088, T0 + pd.Timedelta(minutes=2), 60, 36.9, 122.4)
    tracks = build_tracks(pd.concat([atlantic, yellow_sea]))
    summary = track_summary(tracks)
    assert len(summary) == 2
    assert sorted(summary["pings"]) == [60, 60]
    assert (summary["segments"] == 1).all()  # interleaving does not look like gaps
    assert tracks["step_km"].max() < 1.0


def test_a_sparse_second_ship_is_one_track_not_many():
    busy = straight(412000001, T0, 300, 38.0, 124.0, every_min=1, dlat=0.001)
    sparse = straight(412000001, T0 + pd.Timedelta(seconds=30), 5, 20.0, 110.0, every_min=60,
                      dlat=0.05)
    summary = track_summary(build_tracks(pd.concat([busy, sparse])))
    assert sorted(summary["pings"]) == [5, 300]


def test_a_long_plausible_gap_keeps_one_track_and_splits_segments():
    before = straight(445000111, T0, 20, 38.4, 124.8)
    # dark 14 h, reappears 100 km north: 3.9 kn, perfectly possible
    after = straight(445000111, T0 + pd.Timedelta(hours=15), 20, 39.3, 124.8)
    tracks = build_tracks(pd.concat([before, after]))
    assert tracks["track"].nunique() == 1
    assert tracks["segment"].tolist() == [0] * 20 + [1] * 20
    assert tracks["gap_before_h"].max() == pytest.approx(15 - 95 / 60, abs=0.01)


def test_one_teleporting_ping_does_not_break_the_track():
    ship = straight(445000222, T0, 30, 38.4, 124.8)
    glitch = ship.iloc[[10]].assign(lat=-10.0, lon=10.0,
                                    timestamp=ship["timestamp"].iloc[10] + pd.Timedelta("1min"))
    tracks = build_tracks(pd.concat([ship, glitch]))
    summary = track_summary(tracks)
    assert summary["pings"].tolist() == [30, 1]
    assert (summary.loc[summary["pings"] == 30, "segments"] == 1).all()


def test_gap_exactly_at_threshold_does_not_split():
    ship = straight(445000333, T0, 3, 38.4, 124.8, every_min=60)
    assert build_tracks(ship, TrackConfig(gap_h=1.0))["segment"].tolist() == [0, 0, 0]
    assert build_tracks(ship, TrackConfig(gap_h=0.99))["segment"].tolist() == [0, 1, 2]


def test_input_is_not_modified_and_empty_input_works():
    ship = straight(445000444, T0, 5, 38.4, 124.8).iloc[::-1]
    before = ship.copy()
    build_tracks(ship)
    pd.testing.assert_frame_equal(ship, before)
    empty = build_tracks(ship.iloc[:0])
    assert len(empty) == 0 and "segment" in empty.columns


def _agree_with_movingpandas(tracks: pd.DataFrame, gap_h: float) -> None:
    ours = {t.id: len(t.df) for t in to_trajectory_collection(tracks, by="segment")}
    theirs: dict[str, int] = {}
    for traj in to_trajectory_collection(tracks, by="track").trajectories:
        split = mpd.ObservationGapSplitter(traj).split(gap=timedelta(hours=gap_h))
        theirs.update({t.id: len(t.df) for t in split.trajectories})
    assert ours == theirs


def test_segments_agree_with_movingpandas_observation_gap_splitter_on_synthetic_tracks():
    rng = np.random.default_rng(7)
    ships = []
    for i in range(5):
        times = T0 + pd.to_timedelta(np.cumsum(rng.exponential(20, 200)), unit="min")
        ships.append(pd.DataFrame({"mmsi": 445000500 + i, "timestamp": times,
                                   "lat": 38.0 + np.cumsum(rng.normal(0, 0.002, 200)),
                                   "lon": 124.5 + np.cumsum(rng.normal(0, 0.002, 200))}))
    tracks = build_tracks(pd.concat(ships), TrackConfig(gap_h=1.0))
    assert tracks["segment"].max() > 3  # the scenario really has gaps
    _agree_with_movingpandas(tracks, 1.0)


@pytest.mark.slow
def test_segments_agree_with_movingpandas_on_the_gfw_sample():
    tracks = build_tracks(ingest([need(GFW)]).pings)
    _agree_with_movingpandas(tracks, 1.0)


def test_gfw_shared_mmsi_412331088_is_split_into_south_atlantic_and_yellow_sea():
    pings = ingest([need(GFW)]).pings
    tracks = build_tracks(pings[pings["mmsi"] == 412331088])
    summary = track_summary(tracks)
    assert len(summary) == 2
    lats = sorted(summary["lat"])
    assert lats[0] < -30 and summary.loc[summary["lat"] < -30, "lon"].item() < -40  # S Atlantic
    assert 30 < lats[1] < 40 and summary.loc[summary["lat"] > 30, "lon"].item() > 115  # Yellow Sea
    assert summary["pings"].min() > 300  # both are real tracks, not fragments


@pytest.mark.parametrize("mmsi, wanted", [
    ([1, 1, 2, 3, 3, 3, 7], [3, 1, 9]),          # in order: binary search, duplicates asked
    ([5, 5, 5], [5]),                            # every row
    ([1, 2, 3], []),                             # nothing asked
    ([3, 1, 2, 3, 1], [1, 3]),                   # not in order: the isin way, same answer
])
def test_vessel_rows_are_the_rows_of_the_vessels_asked_for_in_order(mmsi, wanted) -> None:
    from ais.tracking.tracks import vessel_rows

    mmsi, wanted = np.array(mmsi, dtype=np.int64), np.array(wanted, dtype=np.int64)
    assert vessel_rows(mmsi, wanted).tolist() == np.flatnonzero(np.isin(mmsi, wanted)).tolist()


def test_vessel_time_order_is_checked_across_chunk_edges() -> None:
    from ais.tracking.tracks import in_vessel_time_order

    n = (1 << 20) + 10
    mmsi, t = np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    assert in_vessel_time_order(mmsi, t)
    t[1 << 20] = 0  # a step back in time right at the first chunk's edge
    assert not in_vessel_time_order(mmsi, t)
