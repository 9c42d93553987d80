"""Meetups of vessels heard only by satellite, every 40-100 minutes.

Between two fixes an hour apart a drifting vessel can be anywhere its drift took it, so the
straight line between the fixes is a guess: the detector holds a stop seen by one fix until
the vessel must have left, gives each estimate an allowance that grows with its time to the
nearest fix, and judges the pair at the moments both were near a fix. These scenarios say
what that must and must not find; dense reporting must be judged as before.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ais.config import Config, load_config
from ais.db import connect
from ais.detectors import meetup
from ais.errors import ConfigError
from ais.synth.world import Scenario
from tests.conftest import tracks_of
from tests.test_coverage import CENTRE, _dest, satellite

A = 667123456  # Sierra Leone
B = 445100200  # DPRK
START = "2026-01-05T00:00Z"
# two satellites' passes over the pair, drawn once: 40-100 minutes apart, never together
PASSES_A = [55, 80, 45, 95, 60, 70, 85, 50, 65, 100, 40, 75] * 2
PASSES_B = [70, 40, 90, 55, 85, 60, 45, 100, 50, 75, 65, 80] * 2
OFF = dataclasses.replace(Config(), meetup=dataclasses.replace(Config().meetup,
                                                               max_fix_allowance_m=0.0))


def side_by_side(distance_m: float, hours: float = 4.0, seed: int = 40, every_s: int = 60
                 ) -> tuple[Scenario, object]:
    """Two tankers sail in at 9 kn, drift together ``distance_m`` apart for ``hours`` at
    0.5 kn, and sail off in opposite directions at 10 kn; both report every ``every_s``."""
    sc = Scenario(seed=seed, report_every_s=every_s)
    a = sc.vessel(A, "SAT A", ship_type="tanker", start=START, at=_dest(CENTRE, 0, 15))
    b = sc.vessel(B, "SAT B", ship_type="tanker", start=START, at=_dest(CENTRE, 180, 15))
    m = sc.meetup(a, b, at=CENTRE, hours=hours, distance_m=distance_m, speed_kn=0.5,
                  approach_speed_kn=9)
    a.sail(to=_dest(CENTRE, 90, 20), speed_kn=10)
    b.sail(to=_dest(CENTRE, 270, 20), speed_kn=10)
    return sc, m


def by_satellite(sc: Scenario) -> pd.DataFrame:
    """The scenario's pings as two satellites heard them."""
    return satellite(satellite(sc.pings(), A, PASSES_A), B, PASSES_B)


def slots_of(tracks: pd.DataFrame) -> pd.DataFrame:
    """The detector's slots of ``tracks`` (default config), each with its allowance."""
    con = connect()
    con.register("pings", tracks[[c for c in ("mmsi", "track", "timestamp", "lat", "lon", "sog",
                                               "gap_before_h") if c in tracks.columns]])
    con.execute(meetup._slots_sql(Config(), tracks))
    out = con.execute("SELECT * FROM slots").df()
    con.close()
    return out


# -- what must be found ------------------------------------------------------------------


def test_two_satellite_reporters_side_by_side_for_4h_are_one_meetup_of_about_4h() -> None:
    sc, m = side_by_side(150)
    pings = by_satellite(sc)
    assert pings.groupby("mmsi")["timestamp"].diff().dt.total_seconds().min() >= 40 * 60

    ev = meetup.detect(tracks_of(pings), Config())

    assert len(ev) == 1
    e = ev.iloc[0]
    assert e["passes_rule"] and e["context"] == "at sea"
    assert 3.5 <= e["duration_h"] <= 4.2
    assert abs(e["start_time"] - m.start) <= pd.Timedelta(minutes=20)
    assert abs(e["end_time"] - m.end) <= pd.Timedelta(minutes=20)
    assert e["close_share"] >= 0.9
    assert e["median_speed_kn"] < 1.0


def test_a_stop_seen_by_one_fix_lasts_until_the_vessel_must_have_left() -> None:
    """B is heard at its stop at 00:05, 01:15 and 02:20, then at 03:40 under way at 10 kn
    3 km off: to get there at 10 kn it left at 03:30, and was with A until then."""
    a = pd.DataFrame({"mmsi": A, "timestamp": pd.date_range("2026-01-05 00:00", periods=241,
                                                            freq="60s", tz="UTC"),
                      "lat": CENTRE[0], "lon": CENTRE[1], "sog": 0.2})
    east = 1 / (111_195.0 * np.cos(np.radians(CENTRE[0])))  # degrees per metre east
    b = pd.DataFrame({"mmsi": B,
                      "timestamp": pd.to_datetime(["2026-01-05 00:05", "2026-01-05 01:15",
                                                   "2026-01-05 02:20", "2026-01-05 03:40"],
                                                  utc=True),
                      "lat": CENTRE[0], "lon": CENTRE[1] + east * np.array([150, 160, 140, 3140]),
                      "sog": [0.3, 0.2, 0.3, 10.0]})
    pings = pd.concat([a, b]).assign(ship_type="tanker")

    ev = meetup.detect(tracks_of(pings), Config())

    assert len(ev) == 1 and ev["passes_rule"].iloc[0]
    assert ev["start_time"].iloc[0] == pd.Timestamp("2026-01-05 00:10", tz="UTC")
    assert ev["end_time"].iloc[0] == pd.Timestamp("2026-01-05 03:30", tz="UTC")


# -- what must not be found --------------------------------------------------------------


@pytest.mark.parametrize("sog", [True, False], ids=["with SOG", "SOG missing"])
def test_two_satellite_reporters_passing_each_other_at_10kn_between_fixes(sog: bool) -> None:
    sc = Scenario(seed=41, report_every_s=60)
    a = sc.vessel(A, "SAT A", ship_type="tanker", start=START, at=_dest(CENTRE, 270, 40))
    b = sc.vessel(B, "SAT B", ship_type="tanker", start=START,
                  at=_dest(_dest(CENTRE, 90, 40), 0, 0.2))
    a.sail(to=_dest(CENTRE, 90, 40), speed_kn=10)
    b.sail(to=_dest(_dest(CENTRE, 270, 40), 0, 0.2), speed_kn=10)
    pings = by_satellite(sc)
    if not sog:
        pings = pings.assign(sog=np.nan)

    assert meetup.detect(tracks_of(pings), Config()).empty


@pytest.mark.parametrize("seed", [40, 41, 42])
def test_two_satellite_reporters_drifting_800m_apart_are_no_meetup(seed: int) -> None:
    """Each an hour from its fix, the two could be anywhere within reach of each other;
    when their fixes fall close in time they are plainly 800 m apart."""
    sc, _ = side_by_side(800, hours=5, seed=seed)
    ev = meetup.detect(tracks_of(by_satellite(sc)), Config())
    assert not ev["passes_rule"].any()


# -- dense reporting is judged as before -------------------------------------------------


def test_a_dense_pair_gets_no_allowance_and_the_same_meetup() -> None:
    sc, m = side_by_side(150, every_s=60)
    tracks = tracks_of(sc.pings())

    assert (slots_of(tracks)["allowance_m"] == 0).all()
    ev = meetup.detect(tracks, Config())
    pd.testing.assert_frame_equal(ev, meetup.detect(tracks, OFF))
    assert len(ev) == 1 and ev["passes_rule"].iloc[0]
    assert abs(ev["start_time"].iloc[0] - m.start) <= pd.Timedelta(minutes=10)
    assert abs(ev["end_time"].iloc[0] - m.end) <= pd.Timedelta(minutes=10)


def test_a_satellite_estimate_is_sure_at_its_fix_and_less_so_away_from_it() -> None:
    sc, _ = side_by_side(150)
    slots = slots_of(tracks_of(by_satellite(sc)))
    drifting = slots[slots["speed_kn"] < 1.0]
    assert (drifting["allowance_m"] == 0).any()
    assert drifting["allowance_m"].max() == pytest.approx(Config().meetup.max_fix_allowance_m)


# -- configuration -----------------------------------------------------------------------


def test_the_allowance_and_the_anchor_are_set_in_the_config_file(tmp_path) -> None:
    path = tmp_path / "ais.toml"
    path.write_text("[meetup]\nmax_fix_allowance_m = 300\nfix_anchor_m = 100\n")
    mc = load_config(path).meetup
    assert (mc.max_fix_allowance_m, mc.fix_anchor_m) == (300, 100)

    path.write_text("[meetup]\nfix_anchor_m = -5\n")
    with pytest.raises(ConfigError, match="fix_anchor_m = -5: must be between 0 and 5000"):
        load_config(path)
