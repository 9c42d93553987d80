"""Dark periods, loitering and meetups on data as foreign data looks: a regional extract with
edges, satellite reporters heard every 15-45 minutes, water no receiver hears, harbours.

Each scenario is a small world built with the track builder and cut the way the data would
be: to an extract around a point, to a satellite's passes, around a receiver's hole.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ais.config import Config
from ais.detectors import dark_period, loitering, meetup
from ais.synth.world import Scenario, haversine_km
from ais.tracking.tracks import build_tracks
from tests.conftest import tracks_of

START = pd.Timestamp("2026-01-05T00:00Z")
CENTRE = (38.40, 124.40)  # open water of Korea Bay, ~90 km from Nampo
RADIUS_KM = 100.0
TARGET = 667123456


def _dest(at: tuple[float, float], bearing: float, km: float) -> tuple[float, float]:
    lat = at[0] + km * np.cos(np.radians(bearing)) / 111.2
    lon = at[1] + km * np.sin(np.radians(bearing)) / (111.2 * np.cos(np.radians(at[0])))
    return float(lat), float(lon)


def extract(pings: pd.DataFrame, centre=CENTRE, radius_km=RADIUS_KM) -> pd.DataFrame:
    """The pings a user's download of ``radius_km`` around ``centre`` holds."""
    d = haversine_km(pings["lat"].to_numpy(), pings["lon"].to_numpy(), *centre)
    return pings[d <= radius_km].reset_index(drop=True)


def satellite(pings: pd.DataFrame, mmsi: int, minutes: list[float]) -> pd.DataFrame:
    """Keep of ``mmsi`` only the first report at or after each satellite pass (passes
    ``minutes`` apart, from its first report)."""
    own = pings[pings["mmsi"] == mmsi].sort_values("timestamp")
    passes = own["timestamp"].iloc[0] + pd.to_timedelta(np.r_[0, np.cumsum(minutes)], "min")
    idx = np.unique(np.searchsorted(own["timestamp"].to_numpy(), passes.to_numpy()))
    heard = own.iloc[idx[idx < len(own)]]
    return pd.concat([pings[pings["mmsi"] != mmsi], heard]).sort_values(
        ["timestamp", "mmsi"]).reset_index(drop=True)


def crossing_traffic(sc: Scenario, hours: float = 30.0, start: pd.Timestamp = START) -> None:
    """Ships under way across the whole extract in six directions (its extent), and three
    lying near its middle reporting for ``hours``."""
    for i, bearing in enumerate(range(0, 180, 30)):
        a = _dest(CENTRE, bearing, 1.3 * RADIUS_KM)
        b = _dest(CENTRE, bearing + 180, 1.3 * RADIUS_KM)
        v = sc.vessel(412500100 + i, "TRANSIT", start=start, at=a)
        v.sail(to=b, speed_kn=12).sail(to=a, speed_kn=12)
    for i, (brg, km) in enumerate([(0, 20), (120, 30), (240, 25)]):
        sc.vessel(412600100 + i, "LYING", start=start,
                  at=_dest(CENTRE, brg, km)).drift(hours=hours, speed_kn=0.4)


def watchers(sc: Scenario, at: tuple[float, float], hours: float = 30.0, first=412700100,
             n: int = 3) -> None:
    """Boats trawling 10-20 km from ``at`` reporting all along (reception there is good)."""
    for i in range(n):
        boat = sc.vessel(first + i, "WATCHER", ship_type="fishing", start=START,
                         at=_dest(at, 90 * i + 30, 10 + 5 * i))
        boat.drift(hours=hours, speed_kn=0.5)


def dark_rows(pings: pd.DataFrame, closed: bool = False) -> pd.DataFrame:
    """The target's dark-period candidates (``closed``: only the gaps it came back from; its
    track ends before the others', which leaves an open gap after its last report too)."""
    ev = dark_period.detect(build_tracks(pings), Config())
    ev = ev[ev["mmsi"] == TARGET]
    return (ev[~ev["is_open"]] if closed else ev).reset_index(drop=True)


# --- the data's edges -----------------------------------------------------------------------


def test_vessel_sailing_out_of_the_extract_has_left_the_data_not_gone_dark() -> None:
    sc = Scenario(seed=31, report_every_s=120)
    crossing_traffic(sc)
    exit_point = _dest(CENTRE, 45, RADIUS_KM)
    watchers(sc, _dest(CENTRE, 45, RADIUS_KM - 25))
    sc.vessel(TARGET, "LEAVER", start=START + pd.Timedelta(hours=4), at=CENTRE).sail(
        to=_dest(exit_point, 45, 60), speed_kn=11)

    ev = dark_rows(extract(sc.pings()))

    assert len(ev) == 1 and ev["is_open"].iloc[0]
    assert ev["neighbours_reporting"].iloc[0] >= 3  # others kept reporting near where it left
    assert not ev["passes_rule"].iloc[0]
    assert "left the data's coverage" in ev["context"].iloc[0]


def test_vessel_crossing_the_edge_and_coming_back_in_is_no_dark_period() -> None:
    sc = Scenario(seed=32, report_every_s=120)
    crossing_traffic(sc)
    watchers(sc, _dest(CENTRE, 45, RADIUS_KM - 25))
    v = sc.vessel(TARGET, "LOOPER", start=START + pd.Timedelta(hours=2), at=CENTRE)
    v.sail(to=_dest(CENTRE, 45, RADIUS_KM + 40), speed_kn=11).wait(hours=3)
    v.sail(to=_dest(CENTRE, 75, RADIUS_KM + 30), speed_kn=11).sail(to=CENTRE, speed_kn=11)

    ev = dark_rows(extract(sc.pings()), closed=True)

    assert len(ev) == 1 and not ev["is_open"].iloc[0] and ev["duration_h"].iloc[0] > 6
    assert not ev["passes_rule"].iloc[0]
    assert "left the data's coverage" in ev["context"].iloc[0]


def test_vessel_going_dark_well_inside_the_extract_heading_inwards_still_counts() -> None:
    sc = Scenario(seed=33, report_every_s=120)
    crossing_traffic(sc)
    spot = _dest(CENTRE, 200, 15)
    watchers(sc, spot)
    v = sc.vessel(TARGET, "QUIET", start=START + pd.Timedelta(hours=2),
                  at=_dest(CENTRE, 200, 60))
    v.sail(to=spot, speed_kn=10).dark(hours=40)

    ev = dark_rows(extract(sc.pings()))

    assert len(ev) == 1 and ev["is_open"].iloc[0] and ev["duration_h"].iloc[0] > 12
    assert ev["passes_rule"].iloc[0]


# --- reception where it could have been -----------------------------------------------------


def test_nobody_heard_near_the_vessel_before_it_fell_silent_is_reception_unknown() -> None:
    """Its one 'neighbour' only arrives while it is silent: whether anyone could be heard
    there before is unknown, which is not evidence of good reception."""
    sc = Scenario(seed=34, report_every_s=120)
    # the extent, drawn by traffic the day before; nobody near the spot that morning
    crossing_traffic(sc, hours=2, start=START - pd.Timedelta(hours=30))
    spot = _dest(CENTRE, 300, 55)
    sc.vessel(TARGET, "LONER", start=START + pd.Timedelta(hours=3), at=spot).drift(
        hours=3, speed_kn=0.5).dark(hours=14).drift(hours=2, speed_kn=0.5)
    late = sc.vessel(412800100, "LATECOMER", start=START + pd.Timedelta(hours=9),
                     at=_dest(spot, 180, 20))
    late.drift(hours=10, speed_kn=0.5)

    ev = dark_rows(extract(sc.pings()), closed=True)

    assert len(ev) == 1 and ev["duration_h"].iloc[0] > 13
    assert ev["neighbours_reporting"].iloc[0] >= 1
    assert not ev["passes_rule"].iloc[0]
    assert "reception unknown" in ev["context"].iloc[0]


def test_vessel_crossing_water_no_receiver_hears_is_no_dark_period() -> None:
    """A slow ship crosses 60 km of water no terrestrial receiver reaches; boats at both
    edges of that water are heard all day."""
    sc = Scenario(seed=35, report_every_s=120)
    crossing_traffic(sc)
    hole = _dest(CENTRE, 330, 40)
    a, b = _dest(hole, 270, 45), _dest(hole, 90, 45)
    watchers(sc, a, n=2)
    watchers(sc, b, first=412700200, n=2)
    sc.vessel(TARGET, "SLOW", start=START + pd.Timedelta(hours=3), at=a).sail(
        to=b, speed_kn=4.5).sail(to=_dest(b, 90, 20), speed_kn=4.5)
    sc.reception_hole(center=hole, radius_km=30, start=START - pd.Timedelta(days=1), hours=72)

    ev = dark_rows(extract(sc.pings()), closed=True)

    assert len(ev) == 1 and ev["duration_h"].iloc[0] > 6.5
    assert ev["neighbours_reporting"].iloc[0] >= 2  # heard at both edges all along
    assert not ev["passes_rule"].iloc[0]
    assert "on its way" in ev["context"].iloc[0]


# --- the vessel's own cadence ---------------------------------------------------------------


SAT_MINUTES = [30, 20, 40, 25, 45, 15, 35, 30, 40, 20, 30, 45, 25, 35, 30, 20]


def _sat_scene(silence_h: float, sparse: bool, seed: int = 36) -> pd.DataFrame:
    sc = Scenario(seed=seed, report_every_s=120)
    crossing_traffic(sc, hours=40)
    spot = _dest(CENTRE, 150, 30)
    watchers(sc, spot, hours=40)
    v = sc.vessel(TARGET, "SAT", start=START + pd.Timedelta(hours=1), at=spot,
                  report_every_s=60)
    v.drift(hours=8, speed_kn=0.6).dark(hours=silence_h).drift(hours=8, speed_kn=0.6)
    pings = extract(sc.pings())
    return satellite(pings, TARGET, SAT_MINUTES * 40) if sparse else pings


def test_satellite_reporter_missing_its_passes_for_nine_hours_is_its_normal_rhythm() -> None:
    ev = dark_rows(_sat_scene(9, sparse=True), closed=True)

    assert len(ev) == 1 and 9 <= ev["duration_h"].iloc[0] < 10.5
    assert ev["typical_gap_h"].iloc[0] == pytest.approx(0.5, abs=0.1)
    assert ev["neighbours_reporting"].iloc[0] >= 3
    assert not ev["passes_rule"].iloc[0]
    assert "usual for this sparsely received vessel" in ev["context"].iloc[0]


def test_satellite_reporter_silent_for_a_day_is_dark() -> None:
    ev = dark_rows(_sat_scene(24, sparse=True), closed=True)
    assert len(ev) == 1 and ev["passes_rule"].iloc[0]


def test_the_forest_sees_the_same_silence_whether_the_vessel_reports_often_or_rarely() -> None:
    """Rare reporting is not what makes a gap unusual: a vessel heard every half hour and one
    heard every minute, silent alike, give the forest the same features."""
    dense = dark_rows(_sat_scene(14, sparse=False), closed=True)
    sparse = dark_rows(_sat_scene(14, sparse=True), closed=True)
    assert len(dense) == len(sparse) == 1
    cols = [f for f in dark_period.FEATURES if f not in ("duration_h", "night_share",
                                                         "distance_km", "implied_speed_kn")]
    for col in cols:
        assert sparse[col].iloc[0] == pytest.approx(dense[col].iloc[0], rel=0.25, abs=0.5), col


# --- harbours -------------------------------------------------------------------------------


def test_fishing_boat_switched_off_overnight_at_its_harbour_berth_is_not_dark_at_sea() -> None:
    """A small harbour on the coast (no configured port): the boat moors, switches off for
    the night, and sails again in the morning; its neighbour fishes nearby all night."""
    berth = (37.997, 125.06)  # sea on the 1 km land grid, land within 2 km
    sc = Scenario(seed=37, report_every_s=120)
    watchers(sc, _dest(berth, 280, 5), n=2)
    for i, brg in enumerate((200, 250)):  # some traffic offshore, so the harbour is inside
        sc.vessel(412500200 + i, "TRANSIT", start=START, at=_dest(berth, brg, 80)).sail(
            to=_dest(berth, brg + 90, 80), speed_kn=10)
    boat = sc.vessel(TARGET, "FISHER", ship_type="fishing", start=START, at=berth)
    boat.moor(hours=1).sail(to=_dest(berth, 280, 12), speed_kn=8).trawl(hours=5)
    boat.sail(to=berth, speed_kn=8).moor(hours=0.5).dark(hours=11, to=berth).moor(hours=0.5)
    boat.sail(to=_dest(berth, 280, 12), speed_kn=8).trawl(hours=3)

    night = dark_rows(sc.pings(), closed=True)

    assert len(night) == 1
    assert night["neighbours_reporting"].iloc[0] >= 2
    assert not night["passes_rule"].iloc[0]
    assert "harbour" in night["context"].iloc[0]


# --- loitering and meetups of satellite reporters -------------------------------------------


# a satellite's passes over nine hours: mostly 15-45 minutes apart, three passes missed
DRIFT_MINUTES = [25, 40, 15, 80, 35, 30, 45, 20, 95, 30, 15, 40, 75, 25, 35, 30]


def test_nine_hour_drift_heard_every_15_to_45_minutes_is_one_loitering_run() -> None:
    sc = Scenario(seed=38, report_every_s=60)
    v = sc.vessel(TARGET, "DRIFTER", ship_type="tanker", start=START, at=CENTRE)
    v.drift(hours=9.5, speed_kn=0.5)
    pings = satellite(sc.pings(), TARGET, DRIFT_MINUTES * 2)

    ev = loitering.detect(tracks_of(pings), Config())

    assert len(ev) == 1
    assert ev["duration_h"].iloc[0] >= 8.5
    assert ev["passes_rule"].iloc[0]


def test_two_satellite_reporters_side_by_side_for_hours_are_one_meetup() -> None:
    sc = Scenario(seed=39, report_every_s=60)
    a = sc.vessel(TARGET, "SAT A", ship_type="tanker", start=START, at=_dest(CENTRE, 0, 15))
    b = sc.vessel(445100200, "SAT B", ship_type="tanker", start=START,
                  at=_dest(CENTRE, 180, 15))
    sc.meetup(a, b, at=CENTRE, hours=6, distance_m=150, speed_kn=0.5, approach_speed_kn=9)
    pings = satellite(sc.pings(), TARGET, DRIFT_MINUTES * 2)
    pings = satellite(pings, 445100200, DRIFT_MINUTES[5:] + DRIFT_MINUTES[:5] * 2)

    ev = meetup.detect(tracks_of(pings), Config())

    assert len(ev) == 1
    assert ev["duration_h"].iloc[0] >= 5
    assert ev["close_share"].iloc[0] >= 0.8
    assert ev["passes_rule"].iloc[0]
