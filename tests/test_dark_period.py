"""Dark periods: named scenarios built with the synthetic track builder (or tiny hand frames)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ais.config import Config
from ais.detectors import dark_period
from ais.events import BASE_COLUMNS
from ais.synth.world import Scenario
from ais.tracking.coverage import window_around
from ais.tracking.tracks import build_tracks
from tests.conftest import GFW, MARINECADASTRE, need, ping_frame

START = pd.Timestamp("2026-01-05T00:00Z")
TARGET = 445123917
OTHERS = (412000001, 412000002, 412000003)


def events(pings: pd.DataFrame, cfg: Config | None = None) -> pd.DataFrame:
    """Run the detector the way the pipeline does: pings -> tracks -> dark periods.

    These scenarios are a few vessels in the middle of a sea the data covers far around
    them (not an extract 20 km wide whose edges they sit on), so the data window is given:
    500 km around them (see tests/test_coverage.py for the data's own edges)."""
    tracks = build_tracks(pings)
    if tracks.empty:
        return dark_period.detect(tracks, cfg or Config())
    t = tracks["timestamp"]
    window = window_around(float(tracks["lat"].mean()), float(tracks["lon"].mean()), 500.0,
                           int(t.min().value // 1000), int(t.max().value // 1000))
    return dark_period.detect(tracks, cfg or Config(), window=window)


def of(ev: pd.DataFrame, mmsi: int) -> pd.DataFrame:
    return ev[ev["mmsi"] == mmsi].reset_index(drop=True)


def harbour_traffic(sc: Scenario, hours: float) -> None:
    """Three vessels lying 5-20 km from (38.40, 124.60) reporting all the time."""
    for mmsi, at in zip(OTHERS, [(38.45, 124.62), (38.35, 124.55), (38.42, 124.75)],
                        strict=True):
        sc.vessel(mmsi, "NEIGHBOUR", start=START, at=at).drift(hours=hours, speed_kn=0.5)


def hand_track(mmsi: int, times_min: list[float], at: tuple[float, float] = (38.40, 124.60),
               sog: float | None = 5.0) -> pd.DataFrame:
    """A vessel's pings at the given minutes after START, all at one place."""
    rows = [(mmsi, START + pd.Timedelta(minutes=m), at[0], at[1], sog) for m in times_min]
    return ping_frame(rows, ("mmsi", "timestamp", "lat", "lon", "sog"))


# --- the behaviour -------------------------------------------------------------------------


def test_vessel_dark_14h_among_reporting_neighbours_is_one_passing_event() -> None:
    sc = Scenario(seed=1, report_every_s=120)
    harbour_traffic(sc, hours=20)
    target = sc.vessel(TARGET, "CHON MA SAN", start=START, at=(38.40, 124.60))
    target.sail(to=(38.45, 124.70), hours=3).dark(hours=14, to=(38.50, 124.80))
    target.sail(to=(38.55, 124.85), hours=3)

    ev = events(sc.pings())

    assert len(ev) == 1
    row = ev.iloc[0]
    assert row["mmsi"] == TARGET and row["event_type"] == "dark_period"
    assert row["duration_h"] == pytest.approx(14.0, abs=0.1)
    assert not row["is_open"] and row["passes_rule"]
    assert row["neighbours_reporting"] >= 3
    assert row["neighbour_pings_per_h"] > 3 * 20  # three vessels at ~30 reports/h each
    assert row["reports_per_h_before"] >= 20
    assert row["distance_km"] == pytest.approx(10.0, abs=2.0)
    assert row["lat"] == pytest.approx(38.45, abs=0.01)  # where it went dark
    assert row["end_time"] - row["start_time"] == pd.Timedelta(hours=row["duration_h"])
    assert "intentional-length" in row["context"]


def test_gap_of_one_and_a_half_hours_is_no_candidate() -> None:
    sc = Scenario(seed=2, report_every_s=120)
    harbour_traffic(sc, hours=8)
    sc.vessel(TARGET, start=START, at=(38.40, 124.60)).wait(hours=3).dark(hours=1.5).wait(hours=3)
    assert events(sc.pings()).empty


@pytest.mark.parametrize(
    ("gap_min", "expected"),
    [pytest.param(119, 0, id="1h59-below-threshold"),
     pytest.param(120, 1, id="exactly-2h-is-a-candidate"),
     pytest.param(121, 1, id="2h01-is-a-candidate")],
)
def test_min_gap_threshold_is_inclusive(gap_min: int, expected: int) -> None:
    before = list(range(0, 180, 10))  # 0..170 min
    after = [170 + gap_min + m for m in range(0, 180, 10)]
    ev = events(hand_track(TARGET, before + after))
    assert len(ev) == expected
    if expected:
        assert ev["duration_h"].iloc[0] == pytest.approx(gap_min / 60)
        assert not ev["passes_rule"].iloc[0]  # a candidate, far below rule_min_gap_h


def test_reception_hole_silencing_everyone_does_not_pass() -> None:
    sc = Scenario(seed=3, report_every_s=120)
    harbour_traffic(sc, hours=14)
    sc.vessel(TARGET, start=START, at=(38.40, 124.60)).drift(hours=14, speed_kn=0.5)
    sc.reception_hole(center=(38.40, 124.60), radius_km=150, start=START + pd.Timedelta(hours=5),
                      hours=5)

    ev = events(sc.pings())

    assert set(ev["mmsi"]) == {TARGET, *OTHERS}  # every vessel has its 5 h candidate
    assert ev["duration_h"].between(4.9, 5.2).all()
    assert (ev["neighbours_reporting"] == 0).all()
    assert not ev["passes_rule"].any()
    assert ev["context"].str.startswith("reception hole").all()


def test_nearly_everyone_falling_silent_at_once_is_reception_not_the_vessel() -> None:
    """Like the MarineCadastre sample (25 minutes of a day, then a few stray reports): a
    couple of vessels still reporting is not good reception when twenty fell silent."""
    sc = Scenario(seed=5, report_every_s=120)
    fleet = [412300101 + i for i in range(20)]
    for i, mmsi in enumerate(fleet):
        sc.vessel(mmsi, f"FLEET {i}", start=START,
                  at=(38.30 + 0.01 * i, 124.50 + 0.01 * i)).drift(hours=3, speed_kn=0.5)
    sc.vessel(TARGET, start=START, at=(38.40, 124.60)).drift(hours=3, speed_kn=0.5)
    for mmsi, at in zip(OTHERS[:2], [(38.45, 124.62), (38.35, 124.55)], strict=True):
        sc.vessel(mmsi, "STRAY", start=START, at=at).drift(hours=16, speed_kn=0.5)
    pings = sc.pings()
    last = pings[pings["mmsi"] == TARGET].iloc[[-1]]
    late = last.assign(timestamp=START + pd.Timedelta(hours=15))  # one ping after the silence

    ev = of(events(pd.concat([pings, late], ignore_index=True)), TARGET)

    assert len(ev) == 1 and ev["duration_h"].iloc[0] > 11
    assert ev["neighbours_reporting"].iloc[0] == 2
    assert ev["neighbours_before"].iloc[0] >= 20
    assert not ev["passes_rule"].iloc[0]
    assert ev["context"].iloc[0].startswith("reception hole or a gap in the data")


def test_vessel_still_dark_at_end_of_data_is_an_open_event() -> None:
    sc = Scenario(seed=4, report_every_s=120)
    harbour_traffic(sc, hours=20)
    sc.vessel(TARGET, start=START, at=(38.40, 124.60)).wait(hours=6).dark(hours=14)

    ev = of(events(sc.pings()), TARGET)

    assert len(ev) == 1
    row = ev.iloc[0]
    assert row["is_open"] and pd.isna(row["end_time"])
    assert row["duration_h"] == pytest.approx(14.0, abs=0.1)  # so far, to the end of the data
    assert np.isnan(row["distance_km"]) and np.isnan(row["implied_speed_kn"])
    assert row["neighbours_reporting"] == 3 and row["passes_rule"]
    assert row["context"].startswith("open: still dark at end of data")


def test_two_ships_on_one_mmsi_give_no_fake_gap() -> None:
    sc = Scenario(seed=5, report_every_s=300)
    sc.vessel(TARGET, start=START, at=(38.40, 124.60)).sail(to=(38.60, 124.90), hours=10)
    sc.vessel(TARGET, start=START + pd.Timedelta(minutes=2), at=(41.50, 131.00),
              seed=99).sail(to=(41.70, 131.20), hours=10)
    assert events(sc.pings()).empty


def test_sparse_satellite_reporter_gap_is_usual_not_a_rule_hit() -> None:
    sc = Scenario(seed=6, report_every_s=120)
    harbour_traffic(sc, hours=24)
    pings = pd.concat([sc.pings(), hand_track(TARGET, [0, 180, 360, 540, 720, 1260, 1440])])

    ev = of(events(pings), TARGET)

    gap = ev[np.isclose(ev["duration_h"], 9.0)]
    assert len(gap) == 1
    assert gap["typical_gap_h"].iloc[0] == pytest.approx(3.0)
    assert not gap["passes_rule"].iloc[0]
    assert not ev["passes_rule"].any()


# --- robustness ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pings",
    [
        pytest.param(hand_track(TARGET, [0]), id="one-ping-track"),
        pytest.param(pd.concat([hand_track(TARGET, [0]), hand_track(OTHERS[0], range(0, 600, 10))]),
                     id="one-ping-track-among-others"),
        pytest.param(hand_track(TARGET, range(0, 600, 10), sog=None), id="all-null-sog"),
        pytest.param(hand_track(TARGET, [0, 0, 0, 10, 10, 20, 20, 20]), id="identical-times"),
        pytest.param(hand_track(TARGET, range(0, 24 * 60, 3), sog=0.0), id="never-moving"),
    ],
)
def test_degenerate_tracks_give_no_bogus_events(pings: pd.DataFrame) -> None:
    ev = events(pings)
    assert ev.empty
    assert list(ev.columns)[: len(BASE_COLUMNS)] == list(BASE_COLUMNS)


def test_null_sog_keeps_the_event_with_nan_speed() -> None:
    ev = events(hand_track(TARGET, [*range(0, 120, 10), *range(600, 720, 10)], sog=None))
    assert len(ev) == 1 and np.isnan(ev["sog_before_kn"].iloc[0])


def test_empty_input_gives_empty_events_with_schema() -> None:
    ev = events(hand_track(TARGET, []))
    assert ev.empty and set(dark_period.FEATURES) <= set(ev.columns)


def _scene() -> pd.DataFrame:
    sc = Scenario(seed=7, report_every_s=180)
    harbour_traffic(sc, hours=24)
    t = sc.vessel(TARGET, start=START, at=(38.40, 124.60))
    t.wait(hours=2).dark(hours=7).sail(to=(38.5, 124.7), hours=2).dark(hours=3).wait(hours=2)
    t.dark(hours=8)
    return sc.pings()


def test_input_frame_is_not_modified() -> None:
    tracks = build_tracks(_scene())
    copy = tracks.copy(deep=True)
    dark_period.detect(tracks, Config())
    pd.testing.assert_frame_equal(tracks, copy)


def test_same_events_whatever_the_input_row_order() -> None:
    pings = _scene()
    base = events(pings)
    shuffled = events(pings.sample(frac=1.0, random_state=11).reset_index(drop=True))
    assert len(base) == 3 and base["is_open"].sum() == 1
    pd.testing.assert_frame_equal(base, shuffled)


def test_output_schema_and_features() -> None:
    ev = events(_scene())
    assert list(ev.columns) == [*BASE_COLUMNS, *[f for f in dark_period.FEATURES
                                                 if f not in BASE_COLUMNS],
                                *dark_period.RULE_COLUMNS, *dark_period.POSITION_COLUMNS]
    assert ev["other_mmsi"].isna().all()
    assert str(ev["start_time"].dtype).startswith("datetime64") and ev["start_time"].dt.tz


# --- real data -----------------------------------------------------------------------------


def test_runs_sane_on_the_gfw_sample() -> None:
    # Its speed is measured by bench/run.py, not here: a timed assertion fails on a busy machine.
    from ais.inputs.ingest import ingest

    tracks = build_tracks(ingest([need(GFW)]).pings)
    ev = dark_period.detect(tracks, Config())

    assert len(ev) > 0
    assert (ev["duration_h"] >= Config().dark_period.min_gap_h - 1e-9).all()
    assert (ev["neighbours_reporting"] >= 0).all() and (ev["neighbour_pings_per_h"] >= 0).all()
    closed = ev[~ev["is_open"]]
    assert (closed["end_time"] > closed["start_time"]).all()
    assert ev.loc[ev["is_open"], "end_time"].isna().all()
    assert ev["night_share"].between(0, 1).all()
    assert (ev["reports_per_h_before"] > 0).all()


def test_the_marinecadastre_sample_is_a_hole_in_the_data_not_hundreds_of_dark_ships() -> None:
    """25 minutes of a day plus a few hundred reports near midnight: every vessel looks silent
    for 23 h while a few others 'kept reporting'. Nothing passes the rule (681 rows did)."""
    from ais.inputs.ingest import ingest

    tracks = build_tracks(ingest([need(MARINECADASTRE)]).pings)
    ev = dark_period.detect(tracks, Config(everywhere=True))
    assert len(ev) > 9000
    assert not ev["passes_rule"].any()
    assert ev["context"].str.contains("reception hole").mean() > 0.5


# --- neighbour counts: a small world where the answer is known ------------------------------


def _stationary(mmsi: int, at: tuple[float, float], first_min: int, last_min: int,
                every_min: int = 10) -> pd.DataFrame:
    return hand_track(mmsi, list(range(first_min, last_min + 1, every_min)), at=at)


def _km_north(at: tuple[float, float], km: float) -> tuple[float, float]:
    return (at[0] + km / dark_period._KM_PER_DEG, at[1])


def _km_east(at: tuple[float, float], km: float) -> tuple[float, float]:
    return (at[0], at[1] + km / (dark_period._KM_PER_DEG * np.cos(np.radians(at[0]))))


def test_neighbour_counts_are_those_in_reach_inside_the_window() -> None:
    """The target goes dark 14 h at P1 and reappears 60 km east at P2. Counted: vessels within
    the radius of P1 or P2 reporting strictly inside the gap less the 30 min edge margins;
    not counted: one just outside the radius, one reporting only before the gap, one only in
    the first 30 min of it."""
    radius = Config().dark_period.neighbour_radius_km
    p1 = (38.40, 124.60)
    p2 = _km_east(p1, 60)
    target = pd.concat([hand_track(TARGET, list(range(-120, 1, 2)), at=p1),
                        hand_track(TARGET, list(range(840, 961, 2)), at=p2)])
    counted = {  # mmsi: place, reporting every 10 min from -115 to 955 minutes
        412000001: _km_north(p1, 20),
        412000002: _km_north(p1, 0.9 * radius),
        412000003: _km_east(p2, 20),  # near where it reappeared only
    }
    ignored = {412000004: _km_north(p1, -1.1 * radius)}
    frames = [target]
    frames += [_stationary(m, at, -115, 955) for m, at in {**counted, **ignored}.items()]
    frames.append(_stationary(412000005, _km_north(p1, -20), -115, -5))  # before it only
    frames.append(_stationary(412000006, _km_north(p1, -20), 5, 25))  # inside the margin

    ev = of(events(pd.concat(frames, ignore_index=True)), TARGET)

    assert len(ev) == 1
    row = ev.iloc[0]
    assert row["duration_h"] == 14.0 and not row["is_open"]
    assert row["neighbours_reporting"] == 3
    # each counted vessel's pings from 0:35 to 13:25 (the window is 0:30-13:30)
    per_vessel = len(range(35, 806, 10))
    assert row["neighbour_pings_per_h"] == pytest.approx(3 * per_vessel / 14.0)
    # the hour before: the two near P1 and the one that stopped 5 min before
    assert row["neighbours_before"] == 3


_PAIRWISE_SQL = '''
WITH win AS (
    SELECT gid, mmsi, lat, lon, end_lat, end_lon, is_open,
           start_us + least({margin}, (stop_us - start_us) // 4) AS lo_us,
           CASE WHEN is_open THEN stop_us + 1
                ELSE stop_us - least({margin}, (stop_us - start_us) // 4) END AS hi_us
    FROM {gaps}
),
grp AS (
    SELECT mmsi, count(*) AS n, avg(t_us) AS t_us, avg(lat) AS lat, avg(lon) AS lon
    FROM pings
    WHERE t_us > (SELECT min(lo_us) FROM win) AND t_us < (SELECT max(hi_us) FROM win)
    GROUP BY mmsi, floor(lat / {fd})::BIGINT,
             floor(lon * cos(radians(floor(lat / {fd}) * {fd})) / {fd})::BIGINT,
             t_us // {slice_us}
)
SELECT w.gid, count(DISTINCT p.mmsi) AS neighbours_reporting, sum(p.n) AS n_neighbour_pings
FROM win w JOIN grp p ON p.mmsi <> w.mmsi AND p.t_us > w.lo_us AND p.t_us < w.hi_us
WHERE hav_km(p.lat, p.lon, w.lat, w.lon) <= {radius}
   OR (NOT w.is_open AND hav_km(p.lat, p.lon, w.end_lat, w.end_lon) <= {radius})
GROUP BY w.gid
'''



def _crowded_world(rng: np.random.Generator, radius: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pings of 80 vessels around two places 70 km apart over a day (some anchored right at
    the radius of a place, give or take a hundred-millionth of a km, some sailing through),
    and twelve silences there: closed and open, some ending on the edge of a 15-minute slice
    or 1 us off it."""
    t0 = int(START.value // 1000)
    q, margin = dark_period.GROUP_MIN * 60_000_000, 1_800_000_000
    places = [(38.40, 124.60), (38.40 + 70 / dark_period._KM_PER_DEG, 124.60)]
    frames = []
    for i in range(80):
        lat, lon = places[i % 2]
        times = np.sort(rng.integers(0, 24 * 3600, 150)) * 1_000_000 + t0
        if i < 30:  # anchored at the radius (north), or just inside or outside it
            d = radius + rng.choice([-1e-8, 0.0, 1e-8, -0.3, 0.3])
            at_lat, at_lon = np.full(150, lat + d / dark_period._KM_PER_DEG), np.full(150, lon)
        else:  # sailing across the place's disc
            at_lat = lat + rng.uniform(-1, 1) * 1.3 * radius / dark_period._KM_PER_DEG \
                + np.linspace(0, rng.uniform(-1, 1), 150) * radius / dark_period._KM_PER_DEG
            at_lon = lon + np.linspace(-1.5, 1.5, 150) * rng.uniform(0.2, 1.0)
        frames.append(pd.DataFrame({"mmsi": 412000100 + i, "track": 0, "t_us": times,
                                    "lat": at_lat, "lon": at_lon}))
    pings = pd.concat(frames, ignore_index=True)
    pings[["sog", "gap_h"]] = 1.0
    gaps = []
    for g in range(12):
        lat, lon = places[g % 2]
        # the window's start (lo) on a slice's edge, or 1 us before it
        start = t0 + int(rng.integers(1, 40)) * q - margin - (g % 3 == 1)
        stop = start + int(rng.integers(8, 50)) * q + (g % 4 == 2) * int(rng.integers(1, q))
        gaps.append((g + 1, 412000100 + g, lat, lon, places[1 - g % 2][0], lon, g % 5 == 4,
                     start, stop))
    return pings, pd.DataFrame(gaps, columns=["gid", "mmsi", "lat", "lon", "end_lat", "end_lon",
                                              "is_open", "start_us", "stop_us"])


@pytest.mark.parametrize("radius", [50.0, 8.0])
def test_indexed_neighbour_counts_equal_comparing_every_pair(radius: float) -> None:
    """The counts from the space-time index (ais.tracking.reception) are those of the plain
    SQL comparing every window with every report, to the last vessel and ping, also for
    reports right at the radius and windows ending on a slice's edge."""
    from ais.db import connect

    cfg = Config()
    cfg = dataclasses.replace(cfg, dark_period=dataclasses.replace(
        cfg.dark_period, neighbour_radius_km=radius))
    pings, gaps = _crowded_world(np.random.default_rng(int(radius)), radius)
    con = connect()
    con.register("pings", pings)
    con.register("gap_rows", gaps)
    con.execute("CREATE TEMP TABLE gaps AS SELECT * FROM gap_rows")
    fd = radius / dark_period.GROUP_CELLS_PER_RADIUS / dark_period._KM_PER_DEG
    expected = con.execute(_PAIRWISE_SQL.format(
        margin=1_800_000_000, gaps="gaps", fd=fd, slice_us=dark_period.GROUP_MIN * 60_000_000,
        radius=radius) + " ORDER BY gid").df()
    got = dark_period._neighbours(con, cfg, 3_600_000_000)
    assert len(expected) >= 8 and expected["neighbours_reporting"].max() >= 10
    assert got["gid"].tolist() == expected["gid"].tolist()
    assert got["neighbours_reporting"].tolist() == expected["neighbours_reporting"].tolist()
    assert got["n_neighbour_pings"].tolist() == expected["n_neighbour_pings"].astype(int).tolist()

def test_typical_interval_is_the_median_of_real_intervals_not_of_the_missing_first_one() -> None:
    # intervals 1, 1, 1, 10, 10 min and a 7 h silence: the median interval is 5.5 min (a
    # track's first ping has no interval; counted as one, it would make the median 10 min)
    ev = events(hand_track(TARGET, [0, 1, 2, 3, 13, 23, 23 + 7 * 60]))
    assert len(ev) == 1
    assert ev.loc[0, "typical_gap_h"] == pytest.approx(5.5 / 60)
    assert ev.loc[0, "sog_before_kn"] == pytest.approx(5.0)


def test_speed_before_a_gap_ignores_pings_without_sog() -> None:
    pings = hand_track(TARGET, [0, 10, 20, 30, 40, 50, 60, 60 + 7 * 60])
    pings.loc[[4, 5], "sog"] = np.nan  # the last two reports before the silence lack SOG
    ev = events(pings)
    assert ev.loc[0, "sog_before_kn"] == pytest.approx(5.0)
