"""Loitering scenarios: slow at sea is a candidate; anchorage, berth, fishing are not flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ais.config import Config, LoiteringConfig
from ais.detectors import loitering
from ais.geography.places import NAMPO_ANCHORAGE_S, NAMPO_PORT
from ais.synth.world import vessel

from .conftest import tracks_of

SEA = (38.30, 124.60)  # open Korea Bay, ~80 km WSW of Nampo
CFG = Config()


def tanker(mmsi: int = 667001234, at=SEA, ship_type: str = "tanker"):
    return vessel(mmsi, "SEA STAR", callsign="9LAB3", imo="9074729", ship_type=ship_type,
                  at=at, report_every_s=120, seed=mmsi)


def test_eight_hours_drifting_at_sea_is_one_flagged_loiter():
    ship = tanker().sail(to=(38.35, 124.70), speed_kn=10).drift(hours=8, speed_kn=0.5) \
        .sail(to=(38.20, 124.40), speed_kn=10)
    events = loitering.detect(tracks_of(ship), CFG)
    assert len(events) == 1
    ev = events.iloc[0]
    assert ev["duration_h"] == pytest.approx(8, abs=0.5)
    assert ev["passes_rule"] and ev["context"] == "at sea"
    assert ev["mean_speed_kn"] < 2 and ev["radius_km"] < 2
    assert ev["distance_to_port_km"] > 20


@pytest.mark.parametrize(
    "hours, candidate, flagged",
    [
        pytest.param(1.5, False, False, id="below-candidate-threshold"),
        pytest.param(3.0, True, False, id="candidate-below-rule"),
        pytest.param(5.0, True, True, id="above-rule"),
    ],
)
def test_duration_edges(hours, candidate, flagged):
    ship = tanker().sail(to=(38.35, 124.70), speed_kn=10).drift(hours=hours, speed_kn=0.4) \
        .sail(to=(38.20, 124.40), speed_kn=10)
    events = loitering.detect(tracks_of(ship), CFG)
    assert (len(events) == 1) is candidate
    assert bool(events["passes_rule"].any()) is flagged


def test_steaming_vessel_gives_no_candidate():
    ship = tanker().sail(to=(38.0, 124.0), speed_kn=11)
    assert loitering.detect(tracks_of(ship), CFG).empty


def test_anchorage_wait_is_annotated_and_not_flagged():
    ship = tanker(at=(38.60, 125.20)).sail(to=(NAMPO_ANCHORAGE_S.lat, NAMPO_ANCHORAGE_S.lon),
                                           speed_kn=8).anchor(hours=10)
    events = loitering.detect(tracks_of(ship), CFG)
    assert len(events) == 1
    assert not events["passes_rule"].any()
    assert events["context"].iloc[0].startswith("anchorage wait")
    assert events["in_anchorage"].iloc[0] == 1


def test_berth_stay_in_port_is_not_flagged():
    ship = tanker(at=(38.65, 125.30)).sail(to=(NAMPO_PORT.lat, NAMPO_PORT.lon), speed_kn=6) \
        .moor(hours=12)
    events = loitering.detect(tracks_of(ship), CFG)
    assert not events["passes_rule"].any()


def test_fishing_vessel_trawling_slowly_is_not_flagged():
    boat = tanker(ship_type="fishing").trawl(hours=10, speed_kn=1.5)
    events = loitering.detect(tracks_of(boat), CFG)
    assert not events["passes_rule"].any()


def test_a_dark_period_splits_the_slow_run():
    ship = tanker().drift(hours=3, speed_kn=0.4).dark(hours=6).drift(hours=3, speed_kn=0.4)
    events = loitering.detect(tracks_of(ship), Config(loitering=LoiteringConfig()))
    assert len(events) == 2 and (events["duration_h"] < 3.5).all()


def test_a_drift_heard_in_satellite_passes_an_hour_apart_is_one_run():
    """AH VALLETTA in GFW's sample: pings every few minutes within a pass, passes 1-1.3 h
    apart, for days on one spot. Its median interval is minutes, so its cadence allows no
    1.1 h silence; heard again where it was, it stayed: one run, not one per pass."""
    ship = tanker()
    for _ in range(3):
        ship.drift(hours=3, speed_kn=0.4).dark(hours=1.2)
    ship.drift(hours=3, speed_kn=0.4)
    events = loitering.detect(tracks_of(ship), Config(loitering=LoiteringConfig()))
    assert len(events) == 1 and events["duration_h"].iloc[0] > 15
    assert events["passes_rule"].iloc[0]


def test_never_moving_transmitter_is_not_flagged():
    template = tanker().wait(hours=1).pings().iloc[[0]]
    frame = template.loc[template.index.repeat(300)].reset_index(drop=True)
    frame["timestamp"] = frame["timestamp"].iloc[0] + (frame.index * 120).astype("timedelta64[s]")
    frame["sog"] = 0.0
    events = loitering.detect(tracks_of(frame), CFG)
    assert not events["passes_rule"].any()


def test_degenerate_tracks_do_not_crash_or_invent_events():
    one_ping = tanker(mmsi=667000001).sail(to=(38.31, 124.61), speed_kn=10).pings().iloc[:1]
    null_sog = tanker(mmsi=667000002).sail(to=(38.0, 124.0), speed_kn=10).pings() \
        .assign(sog=float("nan"))
    events = loitering.detect(tracks_of(one_ping, null_sog), CFG)
    assert events.empty  # implied speed from positions says it is steaming
    assert loitering.detect(tracks_of(one_ping).iloc[:0], CFG).empty


def test_result_does_not_depend_on_row_order_and_input_is_untouched():
    ship = tanker().drift(hours=6, speed_kn=0.5).sail(to=(38.0, 124.2), speed_kn=10)
    tracks = tracks_of(ship)
    before = tracks.copy()
    a = loitering.detect(tracks, CFG)
    b = loitering.detect(tracks.sample(frac=1, random_state=1), CFG)
    assert tracks.equals(before)
    assert a.equals(b)


def _rolling_median_slow(tracks, threshold_kn: float) -> set:
    """Reference: DuckDB's centred one-hour median of the speed, per ping (the definition)."""
    from ais.db import connect

    con = connect()
    con.register("t", tracks[["mmsi", "track", "timestamp", "sog"]])
    rows = con.execute(f"""
        SELECT mmsi, track, epoch_us(timestamp) FROM (
            SELECT *, median(sog) OVER (PARTITION BY mmsi, track ORDER BY timestamp
                RANGE BETWEEN INTERVAL 30 MINUTE PRECEDING AND INTERVAL 30 MINUTE FOLLOWING) AS m
            FROM t)
        WHERE m < {threshold_kn}
    """).fetchall()
    con.close()
    return {(int(m), int(k), int(us)) for m, k, us in rows}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 240),
                          st.sampled_from([0.0, 1.0, 1.9, 2.0, 2.1, 3.0, 10.0, float("nan")])),
                min_size=1, max_size=120))
def test_slow_pings_are_exactly_those_with_an_hourly_median_below_the_threshold(pings):
    """The counting shortcut (and DuckDB's median for exact ties) agrees with the rolling
    median it replaces, on speeds that sit on and around the threshold, with gaps and NaN."""
    frame = pd.DataFrame(pings, columns=["track", "minute", "sog"]).drop_duplicates(
        ["track", "minute"])
    tracks = pd.DataFrame({
        "mmsi": 412000001, "track": frame["track"].astype("int32"),
        "timestamp": pd.Timestamp("2026-01-05", tz="UTC")
        + pd.to_timedelta(frame["minute"] * 5, unit="min"),
        "lat": 38.3, "lon": 124.6, "sog": frame["sog"], "nav_status": None,
        "vessel_class": "tanker", "gap_before_h": np.nan, "step_km": np.nan,
    }).sort_values(["timestamp"]).reset_index(drop=True)
    slow = loitering._slow_pings(tracks, CFG)
    got = {(int(m), int(k), ts.value // 1000) for m, k, ts in
           zip(slow["mmsi"], slow["track"], slow["timestamp"], strict=True)}
    assert got == _rolling_median_slow(tracks, CFG.loitering.max_speed_kn)


def test_slow_pings_in_blocks_of_whole_vessels_equal_one_pass():
    """Blocks of a few vessels give the same slow pings and run ids as the whole frame."""
    from pathlib import Path

    from ais.inputs.ingest import ingest
    from ais.tracking.tracks import build_tracks

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "nampo_day.parquet"
    tracks = build_tracks(ingest([fixture]).pings)
    whole = loitering._slow_pings(tracks, CFG, block_rows=len(tracks) + 1)
    blocks = loitering._slow_pings(tracks, CFG, block_rows=2_000)
    assert whole["run"].nunique() > 3 and tracks["mmsi"].nunique() > len(tracks) // 2_000
    pd.testing.assert_frame_equal(blocks, whole)
