"""Meetup detector: named scenarios with known answers.

Two kinds of input: :mod:`ais.synth.world` scenarios (realistic approach, drift and departure) and
tiny hand-made frames (:func:`ship`) where exact times matter (thresholds, gaps).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ais.config import Config
from ais.db import connect
from ais.detectors import meetup
from ais.events import BASE_COLUMNS
from ais.synth.world import Scenario
from ais.tracking.tracks import build_tracks

CFG = Config()
AT_SEA = (38.60, 124.90)  # ~43 km west of Nampo, ~20 km from Sok-to, no anchorage nearby
NAMPO = (38.7167, 125.4000)
M_PER_DEG = 111_195.0

TANKER_A = 667120451  # Sierra Leone
TANKER_B = 445201733  # DPRK
TUG = 445300001
SHIP = 352001234  # Panama


def ship(mmsi: int, start: str, end: str, at: tuple[float, float] = AT_SEA, *,
         east_m: float = 0.0, every_s: int = 60, sog: float | None = 0.3,
         ship_type: str = "tanker", name: str | None = None) -> pd.DataFrame:
    """A vessel holding position ``east_m`` east of ``at`` from start to end (inclusive)."""
    times = pd.date_range(start, end, freq=f"{every_s}s", tz="UTC")
    lat0, lon0 = at
    lon = lon0 + east_m / (M_PER_DEG * np.cos(np.radians(lat0)))
    return pd.DataFrame({
        "mmsi": np.int64(mmsi), "timestamp": times, "lat": lat0, "lon": lon,
        "sog": np.nan if sog is None else sog, "name": name or f"SHIP {mmsi}",
        "ship_type": ship_type, "vessel_class": ship_type,
    })


def tracks_of(*parts: pd.DataFrame) -> pd.DataFrame:
    pings = pd.concat(parts, ignore_index=True)
    if "vessel_class" not in pings.columns:
        pings["vessel_class"] = pings["ship_type"]
    return build_tracks(pings)


def detect(tracks: pd.DataFrame, cfg: Config = CFG) -> pd.DataFrame:
    return meetup.detect(tracks, cfg)


def drift_meeting(hours: float, distance_m: float = 150.0, at=AT_SEA, seed: int = 3,
                  a=(TANKER_A, "tanker"), b=(TANKER_B, "tanker"), speed_kn: float = 0.5):
    """Two vessels sail in, drift side by side for ``hours``, and sail away."""
    sc = Scenario(seed=seed)
    va = sc.vessel(mmsi=a[0], name="OCEAN PEARL", ship_type=a[1],
                   start="2026-01-05T00:00Z", at=(at[0] - 0.08, at[1] - 0.05))
    vb = sc.vessel(mmsi=b[0], name="PAEK MA 2", ship_type=b[1],
                   start="2026-01-05T00:00Z", at=(at[0] + 0.07, at[1] + 0.06))
    m = sc.meetup(va, vb, at=at, hours=hours, distance_m=distance_m, speed_kn=speed_kn)
    va.sail(to=(at[0] - 0.15, at[1] - 0.10), speed_kn=10)
    vb.sail(to=(at[0] + 0.15, at[1] + 0.10), speed_kn=10)
    return tracks_of(sc.pings()), m


# -- the shape of the output -------------------------------------------------------------------

def test_schema_and_features():
    ev = detect(drift_meeting(4)[0])
    assert list(ev.columns[: len(BASE_COLUMNS)]) == list(BASE_COLUMNS)
    for col in (*meetup.FEATURES, *meetup.ANNOTATIONS):
        assert col in ev.columns
    for col in meetup.FEATURES:
        assert pd.api.types.is_float_dtype(ev[col]), col
    assert (ev["event_type"] == "meetup").all()


def test_empty_input_gives_empty_schema():
    empty = tracks_of(ship(TANKER_A, "2026-01-05", "2026-01-05 02:00")).iloc[0:0]
    ev = detect(empty)
    assert ev.empty
    assert list(ev.columns[: len(BASE_COLUMNS)]) == list(BASE_COLUMNS)
    assert set(meetup.FEATURES) <= set(ev.columns)


# -- true meetings ----------------------------------------------------------------------------

def test_two_tankers_drifting_150m_apart_for_4h_at_sea():
    tracks, m = drift_meeting(4)
    ev = detect(tracks)
    assert len(ev) == 1
    e = ev.iloc[0]
    assert {e["mmsi"], e["other_mmsi"]} == {TANKER_A, TANKER_B}
    assert e["mmsi"] < e["other_mmsi"]
    assert e["passes_rule"]
    assert e["context"] == "at sea"
    assert 3.5 <= e["duration_h"] <= 4.0
    assert abs(e["start_time"] - m.start) <= pd.Timedelta(minutes=20)
    assert abs(e["end_time"] - m.end) <= pd.Timedelta(minutes=20)
    assert 100 <= e["median_distance_m"] <= 200
    assert e["min_distance_m"] <= e["median_distance_m"]
    assert e["median_speed_kn"] < 1.0
    assert e["distance_to_port_km"] > 30
    assert e["either_dprk"] == 1.0 and e["flags_differ"] == 1.0
    assert {e["flag_iso2"], e["other_flag_iso2"]} == {"KP", "SL"}
    assert {e["name"], e["other_name"]} == {"OCEAN PEARL", "PAEK MA 2"}
    assert e["vessel_class"] == e["other_vessel_class"] == "tanker"
    assert e["dark_before_after"] == 0.0
    assert e["close_share"] == 1.0
    assert not e["is_open"]
    assert abs(e["lat"] - m.lat) < 0.01 and abs(e["lon"] - m.lon) < 0.01


@pytest.mark.parametrize(("hours", "n_events", "passes"), [
    (0.5, 0, None),    # shorter than the 1 h candidate threshold
    (1.5, 1, False),   # a candidate, but under the 2 h rule
    (2.5, 1, True),
])
def test_duration_thresholds_with_synthetic_drift(hours, n_events, passes):
    ev = detect(drift_meeting(hours)[0])
    assert len(ev) == n_events
    if n_events:
        assert bool(ev["passes_rule"].iloc[0]) is passes


@pytest.mark.parametrize(("end", "n_events", "passes"), [
    ("00:50", 0, None),   # slots 00:00..00:50: 0.83 h
    ("01:00", 1, False),  # exactly the 1 h candidate threshold
    ("01:59", 1, False),  # last slot 01:50: 1.83 h
    ("02:00", 1, True),   # exactly the 2 h rule threshold
])
def test_duration_thresholds_exact_on_the_slot_grid(end, n_events, passes):
    tracks = tracks_of(ship(TANKER_A, "2026-01-05 00:00", f"2026-01-05 {end}"),
                       ship(TANKER_B, "2026-01-05 00:00", f"2026-01-05 {end}", east_m=150))
    ev = detect(tracks)
    assert len(ev) == n_events
    if n_events:
        assert bool(ev["passes_rule"].iloc[0]) is passes


# -- not meetings ------------------------------------------------------------------------------

def test_700m_apart_is_not_a_meeting():
    assert detect(drift_meeting(4, distance_m=700)[0]).empty


def test_two_vessels_passing_each_other_at_12kn():
    sc = Scenario(seed=5)
    a = sc.vessel(mmsi=TANKER_A, ship_type="cargo", start="2026-01-05T00:00Z",
                  at=(AT_SEA[0], AT_SEA[1] - 0.3))
    b = sc.vessel(mmsi=SHIP, ship_type="cargo", start="2026-01-05T00:00Z",
                  at=(AT_SEA[0] + 0.001, AT_SEA[1] + 0.3))
    a.sail(to=(AT_SEA[0], AT_SEA[1] + 0.3), speed_kn=12)
    b.sail(to=(AT_SEA[0] + 0.001, AT_SEA[1] - 0.3), speed_kn=12)
    pings = sc.pings()
    assert pings["sog"].between(11, 13).all()
    assert detect(tracks_of(pings)).empty


def test_tug_alongside_arriving_ship_in_nampo_port_never_passes():
    for hours in (1.5, 3.0):
        tracks, _ = drift_meeting(hours, distance_m=40, at=NAMPO, a=(SHIP, "cargo"),
                                  b=(TUG, "tug"), speed_kn=1.0)
        ev = detect(tracks)
        assert not ev["passes_rule"].any()
        assert (ev["context"] == "tug/pilot work in port").all()
        if hours == 3.0:
            assert len(ev) == 1 and ev["tug_or_pilot"].iloc[0] == 1.0
            assert {ev["vessel_class"].iloc[0], ev["other_vessel_class"].iloc[0]} == {
                "cargo", "tug"}


def test_two_ships_in_port_without_tug_are_inside_port_zone():
    tracks, _ = drift_meeting(3, at=NAMPO, a=(SHIP, "cargo"), b=(TANKER_A, "tanker"))
    ev = detect(tracks)
    assert len(ev) == 1
    assert not ev["passes_rule"].iloc[0]
    assert ev["context"].iloc[0] == "inside port zone"


def test_meeting_in_an_anchorage_does_not_pass():
    anchorage = next(p for p in CFG.places if p.kind == "anchorage" and "Najin" in p.name)
    tracks = tracks_of(
        ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 04:00", (anchorage.lat, anchorage.lon)),
        ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 04:00", (anchorage.lat, anchorage.lon),
             east_m=150))
    ev = detect(tracks)
    assert len(ev) == 1 and not ev["passes_rule"].iloc[0]
    assert ev["context"].iloc[0] == f"anchorage: {anchorage.name}"
    assert ev["in_anchorage"].iloc[0] == 1.0


def test_shared_mmsi_never_meets_itself():
    # one MMSI broadcast by two ships 100 km apart: two tracks, each drifting
    a = ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 04:00", AT_SEA)
    b = ship(TANKER_A, "2026-01-05 00:00:30", "2026-01-05 04:00:30", (AT_SEA[0] + 0.9, AT_SEA[1]))
    tracks = tracks_of(a, b)
    assert tracks["track"].nunique() == 2
    assert detect(tracks).empty


def test_two_tracks_of_one_mmsi_close_together_never_meet():
    # built by hand: a segmenter would not split these, but the detector must not rely on that
    a = ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 04:00").assign(track=0)
    b = ship(TANKER_A, "2026-01-05 00:00:30", "2026-01-05 04:00:30", east_m=150).assign(track=1)
    frame = pd.concat([a, b]).sort_values(["mmsi", "timestamp"], ignore_index=True)
    frame["track"] = frame["track"].astype("int32")
    assert detect(frame).empty


# -- merging and gaps --------------------------------------------------------------------------

def _two_meetings():
    sc = Scenario(seed=11)
    a = sc.vessel(mmsi=TANKER_A, ship_type="tanker", start="2026-01-05T00:00Z",
                  at=(AT_SEA[0] - 0.05, AT_SEA[1]))
    b = sc.vessel(mmsi=TANKER_B, ship_type="tanker", start="2026-01-05T00:00Z",
                  at=(AT_SEA[0] + 0.05, AT_SEA[1]))
    m1 = sc.meetup(a, b, at=AT_SEA, hours=1.5)
    a.sail(to=(AT_SEA[0] - 0.1, AT_SEA[1]), speed_kn=10).drift(hours=1.0, speed_kn=0.3)
    b.sail(to=(AT_SEA[0] + 0.1, AT_SEA[1]), speed_kn=10).drift(hours=1.0, speed_kn=0.3)
    m2 = sc.meetup(a, b, at=AT_SEA, hours=1.5)
    a.sail(to=(AT_SEA[0] - 0.2, AT_SEA[1]), speed_kn=10)
    b.sail(to=(AT_SEA[0] + 0.2, AT_SEA[1]), speed_kn=10)
    return tracks_of(sc.pings()), m1, m2


def test_two_meetings_2h_apart_merge_into_one():
    tracks, m1, m2 = _two_meetings()
    assert pd.Timedelta(hours=1.5) < m2.start - m1.end < pd.Timedelta(hours=3.5)
    ev = detect(tracks)
    assert len(ev) == 1
    e = ev.iloc[0]
    assert abs(e["start_time"] - m1.start) <= pd.Timedelta(minutes=20)
    assert abs(e["end_time"] - m2.end) <= pd.Timedelta(minutes=20)
    assert e["close_share"] < 0.8
    assert e["passes_rule"]

    no_merge = dataclasses.replace(CFG, meetup=dataclasses.replace(CFG.meetup, merge_gap_h=1.0))
    assert len(detect(tracks, no_merge)) == 2


def test_3h_reporting_gap_is_not_interpolated_across():
    # A sits at X but is silent 02:00-05:00; B drifts at X only while A is silent
    far = (AT_SEA[0] + 0.03, AT_SEA[1])  # 3.3 km north
    a = pd.concat([ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 02:00"),
                   ship(TANKER_A, "2026-01-05 05:00", "2026-01-05 07:00")])
    b = pd.concat([ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 02:00", far),
                   ship(TANKER_B, "2026-01-05 02:10", "2026-01-05 04:50", east_m=150),
                   ship(TANKER_B, "2026-01-05 05:00", "2026-01-05 07:00", far)])
    assert detect(tracks_of(a, b)).empty
    # control: had A kept reporting, that was a 2 h 40 min meeting
    a_full = ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 07:00")
    ev = detect(tracks_of(a_full, b))
    assert len(ev) == 1 and ev["passes_rule"].iloc[0]


def test_dark_before_after():
    # B goes silent for 3 h an hour after the meeting ends
    a = ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 09:00")
    b = pd.concat([ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 04:00", east_m=150),
                   ship(TANKER_B, "2026-01-05 05:00", "2026-01-05 05:30",
                        (AT_SEA[0] + 0.05, AT_SEA[1])),
                   ship(TANKER_B, "2026-01-05 08:30", "2026-01-05 09:00",
                        (AT_SEA[0] + 0.05, AT_SEA[1]))])
    ev = detect(tracks_of(a, b))
    assert len(ev) == 1 and ev["dark_before_after"].iloc[0] == 1.0
    quiet = detect(tracks_of(a, ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 04:00",
                                     east_m=150)))
    assert quiet["dark_before_after"].iloc[0] == 0.0


def test_meeting_until_end_of_data_is_open():
    tracks = tracks_of(ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 03:00"),
                       ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 03:00", east_m=150))
    ev = detect(tracks)
    assert ev["is_open"].iloc[0]


# -- awkward input -----------------------------------------------------------------------------

def test_awkward_input_does_not_crash():
    one_ping = ship(SHIP, "2026-01-05 01:00", "2026-01-05 01:00")
    no_sog = ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 03:00", east_m=150, sog=None)
    never_moving = ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 03:00", sog=0.0)
    same_time = ship(TUG, "2026-01-05 00:00", "2026-01-05 00:00", (38.0, 124.0))
    same_time = pd.concat([same_time] * 3, ignore_index=True)
    same_time["lat"] += [0.0, 0.0001, 0.0002]
    ev = detect(tracks_of(one_ping, no_sog, never_moving, same_time))
    # the never-moving vessel and the one without SOG still meet (speed from positions)
    assert len(ev) == 1
    assert {ev["mmsi"].iloc[0], ev["other_mmsi"].iloc[0]} == {TANKER_A, TANKER_B}
    assert ev["median_speed_kn"].iloc[0] < 0.5


def test_minimal_columns_are_enough():
    tracks = tracks_of(ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 03:00"),
                       ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 03:00", east_m=150))
    ev = detect(tracks[["mmsi", "track", "timestamp", "lat", "lon"]])
    assert len(ev) == 1 and ev["vessel_class"].iloc[0] == "unknown"


def test_input_not_modified_and_row_order_does_not_matter():
    tracks = _two_meetings()[0]
    extra = tracks_of(ship(SHIP, "2026-01-05 00:00", "2026-01-05 06:00", east_m=300))
    tracks = pd.concat([tracks, extra], ignore_index=True)
    before = tracks.copy()
    ev = detect(tracks)
    pd.testing.assert_frame_equal(tracks, before)
    shuffled = tracks.sample(frac=1.0, random_state=4)
    pd.testing.assert_frame_equal(detect(shuffled), ev)
    pd.testing.assert_frame_equal(detect(build_tracks(shuffled.drop(
        columns=["track", "segment", "gap_before_h", "step_km"]))), ev)


def test_two_fishing_vessels_together_at_sea_do_not_pass():
    tracks = tracks_of(
        ship(TANKER_A, "2026-01-05 00:00", "2026-01-05 04:00", ship_type="fishing"),
        ship(TANKER_B, "2026-01-05 00:00", "2026-01-05 04:00", east_m=150,
             ship_type="fishing"))
    ev = detect(tracks)
    assert len(ev) == 1 and not ev["passes_rule"].iloc[0]
    assert ev["context"].iloc[0] == "fishing vessels working together"


@pytest.mark.parametrize("lat", [38.7, 0.0, 75.0])
def test_grid_join_finds_exactly_the_pairs_all_pairs_would(lat):
    # 150 vessels within 1.5 km for an hour: compare the binned join with a brute-force join
    rng = np.random.default_rng(7)
    n, per = 150, 30
    t = pd.Timestamp("2026-01-05", tz="UTC") + pd.to_timedelta(np.arange(per) * 120, unit="s")
    north = rng.uniform(-1500, 1500, n)[:, None] + rng.normal(0, 60, (n, per))
    east = rng.uniform(-1500, 1500, n)[:, None] + rng.normal(0, 60, (n, per))
    frame = pd.DataFrame({
        "mmsi": np.repeat(np.arange(n, dtype=np.int64) + 412000000, per),
        "track": np.int32(0), "timestamp": np.tile(t, n),
        "lat": (lat + north / M_PER_DEG).ravel(),
        "lon": (20.0 + east / (M_PER_DEG * np.cos(np.radians(lat)))).ravel(),
        "sog": 0.2,
    })
    con = connect()
    con.register("pings", frame)
    con.execute(meetup._slots_sql(CFG, frame))
    con.execute(meetup._close_sql(CFG))
    grid = con.execute("SELECT count(*), count(DISTINCT (pair, k)) FROM close").fetchone()
    brute = con.execute("""
        SELECT count(*) FROM slots a JOIN slots b ON a.k = b.k AND a.mmsi < b.mmsi
        WHERE 1000 * hav_km(a.lat, a.lon, b.lat, b.lon) <= 500""").fetchone()[0]
    con.close()
    assert brute > 1000
    assert grid == (brute, brute)


# -- every latitude ------------------------------------------------------------------------------

@pytest.mark.parametrize("lat, lon_a, lon_b", [
    pytest.param(89.95, 10.0, None, id="195 m apart at 89.95 N"),
    pytest.param(-89.95, -60.0, None, id="195 m apart at 89.95 S"),
    pytest.param(89.999, 0.0, 180.0, id="222 m apart across the North Pole"),
    pytest.param(70.0, 20.0, None, id="195 m apart at 70 N"),
])
def test_two_vessels_together_near_a_pole_are_compared(lat, lon_a, lon_b):
    # the grid's longitude cells used to stop widening at 89 degrees: two ships 195 m apart
    # at 89.95 N lay eight cells apart and were never compared
    start, end = "2026-01-05T00:00Z", "2026-01-05T05:00Z"
    a = ship(TANKER_A, start, end, at=(lat, lon_a))
    if lon_b is None:
        b = ship(TANKER_B, start, end, at=(lat, lon_a), east_m=195.0)
    else:
        b = ship(TANKER_B, start, end, at=(lat, lon_b))
    ev = detect(tracks_of(a, b))
    assert len(ev) == 1, ev
    assert ev["duration_h"].iloc[0] >= 4.5
    assert {ev["mmsi"].iloc[0], ev["other_mmsi"].iloc[0]} == {TANKER_A, TANKER_B}
